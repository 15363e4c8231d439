// Tensor-parallel ranks of one worker (docs/parallelism.md): `ranks` actors on the worker's node,
// each computing its Megatron part of the step (model/tensor_rank.hpp) on its own thread and
// all-reducing partial sums with the others through messages. The worker stays the one member
// of the shards: it pulls the full parameters, the ranks read them and write their disjoint
// parts of its gradient buffer, and it pushes the gradient as before.
// Ranks live in the worker's process, as Megatron keeps tensor parallelism inside a node.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <caf/scoped_actor.hpp>

#include "model/mlp.hpp"

namespace herd::actors {

class tensor_group {
public:
  /// Spawns the rank actors. Requires 1 <= ranks <= the narrowest split layer's width.
  tensor_group(caf::actor_system& sys, std::shared_ptr<const model::mlp> net, int ranks,
               std::chrono::milliseconds timeout);
  ~tensor_group(); // ends the ranks
  tensor_group(const tensor_group&) = delete;
  tensor_group& operator=(const tensor_group&) = delete;

  /// One step over all ranks; returns the mean loss. `params`, `x`, `y` and `grad` must stay
  /// valid until it returns. Throws std::runtime_error when a rank ends or does not answer
  /// within the timeout (the worker then ends, and its supervisor restarts it with new ranks).
  /// `opts` as for mlp::train_step: in bf16/fp16 the caller rounds params and x, and the
  /// gradient comes back multiplied by the loss scale (cpu_backend does both).
  float train_step(const float* params, const float* x, const uint8_t* y, int rows,
                   float* grad, const model::step_options& opts = {});

  const std::vector<caf::actor>& ranks() const { return ranks_; }

private:
  caf::actor_system& sys_;
  std::chrono::milliseconds timeout_;
  std::vector<caf::actor> ranks_;
  std::unique_ptr<caf::scoped_actor> self_; // made on first use, on the calling thread
};

} // namespace herd::actors
