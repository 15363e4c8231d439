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
#include "kernels/compress/codec_registry.hpp"
#include "messages/payload_codec.hpp"

namespace herd::actors {

struct shard_options {
  /// Codecs for decoding compressed gradients (any kind a worker may send).
  std::shared_ptr<const kernels::compress::codec_registry> codecs;
  /// How parameter slices are sent to workers (the shard keeps fp32).
  messages::dense_format pull_format = messages::dense_format::f32;
};

caf::actor spawn_shard(caf::actor_system& sys, std::shared_ptr<shard_state> state,
                       shard_options opts);

} // namespace herd::actors
