// The shard actor: a thin behaviour over shard_state. It answers pulls with a ParamSlice
// payload, deferring them (response promises) until the consistency rule allows; every push,
// join and leave re-evaluates the deferred pulls at once.
//
//   pull(reader, clock) --ready?--> slice payload
//            \--not yet--> waiting list --(push | join | leave)--> re-check
//   push(gradient payload) -> decode + validate -> shard_state::push -> version
#pragma once

#include <memory>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/shard_state.hpp"

namespace herd::actors {

caf::actor spawn_shard(caf::actor_system& sys, std::shared_ptr<shard_state> state);

} // namespace herd::actors
