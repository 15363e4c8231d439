// A checkpoint with something in every field, for the checkpoint tests.
#pragma once

#include <cstdint>
#include <utility>

#include "actors/checkpoint_store.hpp"
#include "messages/checkpoint_codec.hpp"

namespace herd::test {

inline actors::checkpoint sample_checkpoint(uint64_t clock) {
  actors::checkpoint c;
  c.clock = clock;
  c.job_json = "{\"name\": \"x\"}";
  c.rule = {"ssp", 2, false};
  c.data.epoch = 1;
  c.data.pos = 96;
  c.data.next_id = 7;
  c.data.samples_done = 160;
  c.data.waiting.push_back(data::chunk{5, 0, {3, 1, 2}});
  c.data.outstanding.emplace_back(0, data::chunk{6, 1, {9, 8}});
  actors::worker_position w;
  w.node = "local";
  w.clock = clock;
  w.has_chunk = true;
  w.chunk = data::chunk{6, 1, {9, 8}};
  w.pos = 1;
  w.device = "cuda:1";
  c.workers.push_back(std::move(w));
  c.samples = 1234;
  c.steps = 56;
  c.skipped = 1;
  c.next_worker_id = 3;
  messages::shard_snapshot s;
  s.shard = 0;
  s.params = {1.0f, -2.0f, 3.5f};
  s.momentum = {0.1f, 0.2f, 0.3f};
  s.optimizer_steps = 5;
  s.schedule_samples = 160;
  s.members = {{0, clock}};
  c.shards.push_back(messages::encode_shard_snapshot(s));
  return c;
}

} // namespace herd::test
