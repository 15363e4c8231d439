// Rolling back after a lost shard, in one process: two nodes, shard 1 alone on node b, which
// is killed after a checkpoint. The job's time goes on across the roll-back (never back to 0),
// and every sample is trained once (the workers held between two chunks).
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/job.hpp"
#include "actors/node.hpp"
#include "actors/system_config.hpp"
#include "tests/actors/recording_node.hpp"
#include "tests/actors/small_job.hpp"
#include "tests/temp_dir.hpp"

using namespace herd;

TEST_CASE("roll-back: the job's time goes on across it and every sample is trained once",
          "[actors][integration]") {
  test::temp_dir dir;
  auto in = test::small_job(); // 256 samples, batch 8, 2 workers
  in.cfg.training.epochs = 4;
  in.cfg.training.chunk_batches = 2; // the checkpoints (every 10 clocks) fall between chunks
  in.cfg.checkpoint.every = 10;
  in.cfg.checkpoint.keep = 10;
  in.cfg.checkpoint.dir = dir.file("ck");
  in.cfg.shards = {config::shard_config{"a"}, config::shard_config{"b"}};
  in.cfg.workers.assign(2, config::worker_config{"a", "cpu", {}});

  actors::system_config scfg;
  caf::actor_system sys{scfg};
  auto seen = std::make_shared<test::spawned>();
  test::recorded_nodes on{sys, in, seen, {"a", "b"}};
  auto& nodes = on.nodes;
  std::mutex mx;
  std::string log;
  std::vector<actors::eval_point> evals;
  std::atomic<bool> written{false}, killed{false};
  std::atomic<double> killed_at_s{-1};
  actors::job_callbacks cb;
  cb.on_log = [&](const std::string& line) {
    std::lock_guard<std::mutex> g{mx};
    log += line + "\n";
    if (line.find("checkpoint at clock 20 written") != std::string::npos)
      written = true;
  };
  cb.on_eval = [&](const actors::eval_point& e) {
    std::lock_guard<std::mutex> g{mx};
    evals.push_back(e);
  };
  cb.on_progress = [&](const actors::progress_info& p) {
    if (!written || p.clock < 25 || killed.exchange(true))
      return;
    killed_at_s = p.elapsed_s;
    std::lock_guard<std::mutex> g{seen->mx};
    caf::anon_send_exit(seen->shards.at(1), caf::exit_reason::kill);
  };
  auto r = actors::run_job_on(sys, in, nodes, cb);
  INFO(log);
  REQUIRE(killed);
  REQUIRE(r);
  CHECK(log.find("rolling the job back to the checkpoint at clock") != std::string::npos);
  CHECK(r->samples == 4 * 256);
  CHECK(r->steps == 4 * 256 / 8);
  CHECK(log.find(" left at clock") == std::string::npos);
  // The restored parameters' evaluation is at the time of the roll-back, not at 0 s.
  REQUIRE(evals.size() >= 2);
  CHECK(evals.front().train_s >= killed_at_s.load());
  for (size_t i = 1; i < evals.size(); ++i)
    CHECK(evals[i].train_s >= evals[i - 1].train_s);
}
