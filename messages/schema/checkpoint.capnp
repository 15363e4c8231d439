@0xc3b1f0a2d4e5f607;
# One shard's part of a coordinated checkpoint (docs/operations.md, "Checkpoints"): everything
# a shard needs to continue exactly where it was. Written by the supervisor's process, one file
# per shard, beside a manifest that holds checksums of every file.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("herd::wire");

const checkpointVersion :UInt16 = 1;

struct MemberClock {
  worker @0 :UInt32;
  clock @1 :UInt64;
}

struct ShardCheckpoint {
  formatVersion @0 :UInt16;
  shard @1 :UInt32;
  offset @2 :UInt64;
  count @3 :UInt32;
  version @4 :UInt64;        # optimizer steps applied
  pushes @5 :UInt64;
  skipped @6 :UInt64;
  params @7 :Data;           # count fp32 values, little-endian
  optimizerSteps @8 :Int64;
  momentum @9 :Data;         # SGD momentum or Adam's first moment (count fp32, or empty)
  variance @10 :Data;        # Adam's second moment (count fp32, or empty)
  members @11 :List(MemberClock);
  scheduleSamples @12 :UInt64; # samples the lr schedule has advanced over (0 in older files)
}
