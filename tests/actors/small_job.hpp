// The small in-memory job several actor tests start from (MLP 20-16-12-4 on synthetic data,
// 2 shards, 2 workers in one process, no evaluations), and running a job to its end or with its
// log kept.
#pragma once

#include <catch2/catch.hpp>

#include <string>

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

/// A run that may fail: its result, every log line, and the last progress report.
struct logged_run {
  caf::expected<actors::job_result> result{caf::error{}};
  std::string log;
  actors::progress_info last;
};

/// Runs `in` in a fresh actor system, keeping its log and last progress report.
inline logged_run run_logged(const actors::job_inputs& in) {
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  logged_run out;
  actors::job_callbacks cb;
  cb.on_log = [&](const std::string& line) { out.log += line + "\n"; };
  cb.on_progress = [&](const actors::progress_info& p) { out.last = p; };
  out.result = actors::run_job(sys, in, cb);
  return out;
}

} // namespace herd::test
