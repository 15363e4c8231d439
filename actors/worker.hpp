// The worker actor, detached (its own thread: forward/backward never blocks the scheduler).
// One step, driven by a step message to itself so other messages interleave:
//
//   step --> pull(id, clock) from every shard --all slices in--> batch left in chunk?
//     yes --> forward/backward --> push(gradient) to every shard --> clock+1 --> step
//     no  --> chunk(id, finished chunk) from supervisor --> empty? --> leave shards --> finished
//
// A straggler sleeps (factor - 1) x the step's compute time after computing, with the given
// probability per step: real delay on the worker's own thread.
// Data is requested after the pull completes, so under BSP the workers of one clock take
// consecutive chunks (this is what makes P workers at batch b equal one at batch P*b).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/gradient_codec.hpp"
#include "actors/worker_state.hpp"
#include "config/job_config.hpp"

namespace herd::actors {

struct worker_setup {
  std::shared_ptr<worker_state> state;
  std::vector<caf::actor> shards; // index = shard id, matching state->slices()
  caf::actor supervisor;
  uint64_t max_steps = 0;         // 0 = until the data runs out
  config::straggler_config straggler; // injected slowness (factor 1 = none)
  std::shared_ptr<gradient_encoder> encoder; // the job's gradient codec, per slice
  uint64_t seed = 0;                  // for the straggler's coin
  std::optional<kernels::half_format> half; // bf16/fp16 compute (fp32 when empty)
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  uint32_t incarnation = 0; // bumped per restart of this worker id
  /// Payloads to and from shards in other processes travel in parts of this size (0: whole).
  uint32_t part_bytes = 0;
  /// Also in parts for shards in this process (tests of the parts path).
  bool parts_in_process = false;
  /// Shards in this process get shared buffers instead of payloads (local_handover.hpp): fp32
  /// pulls, and dense fp32 pushes. Off: payloads everywhere (tests of the payload path).
  bool local_handover = false;
  /// Periodic checkpoints (checkpoint.every; 0: none): hold by itself before the step of every
  /// multiple of this clock, so a checkpoint lands exactly there however late the supervisor
  /// reads progress.
  uint64_t hold_every = 0;
  /// Ask for the next step's parameters before computing this one (training.prefetch).
  bool prefetch = true;
};

caf::actor spawn_worker(caf::actor_system& sys, worker_setup setup);

} // namespace herd::actors
