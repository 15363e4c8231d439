// The small in-memory job several actor tests start from (MLP 20-16-12-4 on synthetic data,
// 2 shards, 2 workers in one process, no evaluations), and running a job to its end.
#pragma once

#include <catch2/catch.hpp>

#include <caf/actor_system.hpp>

#include "actors/job.hpp"
#include "actors/system_config.hpp"
#include "tests/actors/synthetic_data.hpp"

namespace herd::test {

inline actors::job_inputs small_job() {
  actors::job_inputs in;
  auto& cfg = in.cfg;
  cfg.model.layers = {20, 16, 12, 4};
  cfg.training.batch_size = 8;
  cfg.training.epochs = 1;
  cfg.training.eval_every = 0;
  cfg.shards.assign(2, config::shard_config{"local"});
  cfg.workers.assign(2, config::worker_config{"local", "cpu", {}});
  in.train = std::make_shared<data::dataset>(synthetic_dataset(256, 20, 4, 1));
  in.test = std::make_shared<data::dataset>(synthetic_dataset(64, 20, 4, 2));
  return in;
}

/// Runs `in` in a fresh actor system; the job must succeed.
inline actors::job_result run_to_end(const actors::job_inputs& in) {
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  auto r = actors::run_job(sys, in);
  REQUIRE(r);
  return *r;
}

} // namespace herd::test
