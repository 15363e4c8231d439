// The evaluator actor, detached: on eval(clock, samples) it pulls every shard's slice for that
// clock (under BSP a pull waits until the shard reached it), assembles the parameters and
// measures test loss and accuracy. One evaluation at a time (the supervisor ensures it).
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/evaluator_state.hpp"
#include "model/slices.hpp"

namespace herd::actors {

struct evaluator_setup {
  std::shared_ptr<evaluator_state> state;
  std::vector<caf::actor> shards;
  std::vector<model::slice> slices;
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
};

/// Reader id the evaluator uses in its pulls (never a worker's id).
constexpr uint32_t evaluator_reader = 0xffffffffu;

caf::actor spawn_evaluator(caf::actor_system& sys, evaluator_setup setup);

} // namespace herd::actors
