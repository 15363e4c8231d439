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
    f16 @7 :Data;          # count * 2 bytes, IEEE half (round to nearest even)
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
  # Layouts and error bounds of the compressed encodings: kernels/compress/<codec>_codec.hpp.
  # The receiver validates every field against `count` before decoding.
  encoding :union {
    denseF32 @9 :Data;     # count * 4 bytes
    denseBf16 @10 :Data;   # count * 2 bytes
    denseF16 @11 :Data;    # count * 2 bytes
    int8 @12 :Quantized;   # stochastic int8 codes, one absmax scale per bucket
    topk @13 :Sparse;      # the k largest magnitudes
    randk @14 :Seeded;     # k positions drawn from seed, values scaled by count/k
    qsgd @15 :Quantized;   # sign + level bit codes, one L2 norm per bucket
    sign @16 :Signs;       # one bit per element, one mean |g| scale per bucket
  }
  dataKey @17 :UInt64;     # where the batch lies in the data (chunk id << 32 | position in
                           # the chunk): a BSP round sums its gradients in this order, so the
                           # sum does not depend on which worker's push arrived first
}

struct Quantized {
  bucket @0 :UInt32;       # elements per bucket
  levels @1 :UInt32;       # qsgd: quantization levels s (0 for int8)
  scales @2 :List(Float32);# one per bucket
  codes @3 :Data;
}

struct Sparse {
  gaps @0 :Data;           # the strictly increasing indices as LEB128 varints of
                           # index[i] - index[i-1] - 1 (index[0] itself): ~2 bytes each at 0.1%
  values @1 :Data;         # fp32, one per index
}

struct Seeded {
  seed @0 :UInt64;         # the positions derive from it
  values @1 :Data;         # fp32, k values in ascending position order
}

struct Signs {
  scale @0 :Float32;       # unused (the single scale before buckets); written as 0
  bits @1 :Data;           # bit i%8 of byte i/8 set where the gradient is negative
  bucket @2 :UInt32;       # elements per scale
  scales @3 :List(Float32);# one per bucket
}
