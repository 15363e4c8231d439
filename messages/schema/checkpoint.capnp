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

# One worker's (or pipeline stage's) state that carries from step to step, beside the shards'
# (docs/operations.md, "Checkpoints"): the loss scaler and, per slice of the model, what the
# gradient codec kept back (error feedback's residual, momentum correction's u and v).
struct SliceState {
  residual @0 :Data;      # fp32, the slice's count or empty
  velocity @1 :Data;
  accumulated @2 :Data;
}

struct WorkerState {
  formatVersion @0 :UInt16;
  lossScale @1 :Float32;  # 0: no loss scaler
  cleanSteps @2 :UInt32;
  slices @3 :List(SliceState);
}
