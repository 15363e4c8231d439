@0xa5081d43ef04fc5e;
# herd's bulk wire format. Parameter slices and gradients travel as one Cap'n Proto message each,
# inside a CAF message as an owned byte buffer (herd::messages::payload). Every field needed to
# validate a payload before use is carried here; messages/payload_codec.cpp checks them.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("herd::wire");

# Bumped when an incompatible change is made; decoders refuse other versions.
const formatVersion :UInt16 = 1;

struct ParamSlice {
  formatVersion @0 :UInt16;
  shard @1 :UInt32;
  offset @2 :UInt64;       # first element of the slice in the flat parameter vector
  count @3 :UInt32;        # elements in the slice
  version @4 :UInt64;      # shard version (applied updates) the values belong to
  values :union {
    f32 @5 :Data;          # count * 4 bytes, little-endian IEEE-754
    bf16 @6 :Data;         # count * 2 bytes, upper half of the fp32 bit pattern (rounded)
  }
}

struct Gradient {
  formatVersion @0 :UInt16;
  worker @1 :UInt32;
  incarnation @2 :UInt32;  # bumped when a worker is restarted
  clock @3 :UInt64;        # the worker's step this gradient belongs to
  baseVersion @4 :UInt64;  # shard version the worker read before computing it
  shard @5 :UInt32;
  offset @6 :UInt64;
  count @7 :UInt32;
  samples @8 :UInt32;      # samples behind the gradient (it is their mean)
  encoding :union {
    denseF32 @9 :Data;     # count * 4 bytes
    denseBf16 @10 :Data;   # count * 2 bytes
  }
}
