// A pipeline stage actor, detached (forward/backward never block the scheduler). It is a
// data-parallel worker (own worker id, member of its own stage's shards only) whose model is
// a few consecutive layers; the replica's stages pass activations and deltas:
//
//   step --> pull(id, clock) from its own shards --all in--> [stage 0: chunk? batch?]
//     stage 0: cut the batch into M micro-batches --forward each--> activations --> stage 1
//     stage k: activations in --forward--> stage k+1   (last stage: loss, backward at once)
//     deltas in (after all M forwards) --backward--> deltas --> stage k-1
//     stage 0: last backward done --> commit --> 1 --> ... --> K-1
//     on commit: push the stage's gradient to its shards --> clock+1 --> step
//   stage 0, no data left (or max_steps, or the replica removed): end --> 1 --> ... --> K-1;
//     each leaves its shards and reports finished to the supervisor.
//   checkpoints: every stage holds before the pull of the checkpoint's clock C (the replica's
//     commit of C - 1 has passed every stage), reports its place once its pushes are answered
//     (its clock; stage 0's chunk, one minibatch, is committed by then), and pulls again on
//     resume.
//
// No stage pushes before the commit, i.e. before every stage of the replica finished the
// minibatch's backward: a stage lost mid-minibatch leaves nothing of it on any shard.
#pragma once

#include <chrono>
#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/gradient_codec.hpp"
#include "actors/stage_state.hpp"

namespace herd::actors {

struct stage_setup {
  std::shared_ptr<stage_state> state;
  std::vector<caf::actor> shards; // every shard of the job, index = shard id
  caf::actor next;                // the next stage (none at the last)
  caf::actor supervisor;
  uint64_t max_steps = 0;
  std::shared_ptr<gradient_encoder> encoder;
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  uint32_t incarnation = 0;
  uint64_t hold_every = 0; // checkpoint.every: hold before the pull of each multiple
};

caf::actor spawn_stage(caf::actor_system& sys, stage_setup setup);

} // namespace herd::actors
