// Whether a checkpoint fits the job about to resume it, and itself: checked before anything
// starts, so that a checkpoint of another training set, optimizer or slicing, or one whose
// files were forged with valid checksums, is refused (config_invalid, herd run exits 2) rather
// than crashing a worker on a sample index past the training set or hanging the shards on a
// member that never pushes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "actors/checkpoint_store.hpp"
#include "actors/job_parts.hpp"
#include "data/dataset.hpp"

namespace herd::actors {

/// Clocks above this are refused: no job runs that long, and the supervisor adds to clocks.
constexpr uint64_t max_checkpoint_clock = uint64_t{1} << 53;

/// A worker of a checkpoint holds at most this many clocks past the checkpoint's clock (one
/// added while the hold was being set joins two clocks past the furthest).
constexpr uint64_t max_worker_lead = 2;

/// Checks `c` against the job `plan` resumes it with, over the loaded training set `train`:
///   - its data position (dispenser) is of a training set of train's size (the checkpoint's
///     train_limit applied to the same file), every sample index in it and in the workers'
///     chunks is below that size, its epoch is within the job's epochs;
///   - worker ids are unique and below next_worker_id, worker clocks are within
///     [clock, clock + max_worker_lead], the clock is at most max_checkpoint_clock;
///   - each shard's snapshot is of the job's slice (index, offset, count), keeps the optimizer
///     state the job's optimizer keeps, and its members are exactly the checkpoint's workers
///     of that shard, at their clocks.
/// Returns config_invalid naming the first thing that does not fit; no error when all do.
caf::error check_checkpoint(const checkpoint& c, const job_plan& plan,
                            const data::dataset& train);

} // namespace herd::actors
