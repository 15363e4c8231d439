// Pipeline replicas that are not restarted after a stage fails: one remove-worker is removing
// (it used to come back and train to the end of the job), and any while the job stops (the
// job used to wait for good for the restart of the replica's other stages).
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/job.hpp"
#include "actors/system_config.hpp"
#include "messages/atoms.hpp"
#include "messages/specs.hpp"
#include "tests/actors/recording_node.hpp"
#include "tests/actors/synthetic_data.hpp"

using namespace herd;

namespace {

// 2 replicas of 2 stages; minibatches of 4 micro-batches through 512-wide layers, slow enough
// that a kill reaches stage 1 before its replica's stop has run down the chain.
actors::job_inputs pipeline_job() {
  actors::job_inputs in;
  auto& cfg = in.cfg;
  cfg.model.layers = {256, 512, 512, 4};
  cfg.optimizer.lr = 0.01;
  cfg.training.batch_size = 128;
  cfg.training.epochs = 20; // far more than the tests let it train
  cfg.training.eval_every = 0;
  cfg.parallelism.pipeline_stages = 2;
  cfg.parallelism.micro_batches = 4;
  cfg.shards.assign(2, config::shard_config{"local"});
  cfg.workers.assign(4, config::worker_config{"local", "cpu", {}});
  in.train = std::make_shared<data::dataset>(test::synthetic_dataset(2048, 256, 4, 1));
  in.test = std::make_shared<data::dataset>(test::synthetic_dataset(64, 256, 4, 2));
  return in;
}

// The job's log lines and the answers to ctl commands, shared with the driving thread.
struct driven {
  std::mutex mx;
  std::string log;
  std::vector<std::string> answers;
  bool logged(const std::string& part) {
    std::lock_guard<std::mutex> g{mx};
    return log.find(part) != std::string::npos;
  }
  void ask(caf::scoped_actor& self, const caf::actor& sup, std::vector<std::string> words) {
    self->request(sup, std::chrono::seconds(30), ctl_atom::value, messages::ctl_request{words})
      .receive([&](const std::string& s) { answers.push_back(s); },
               [&](caf::error& e) { answers.push_back("error: " + describe(e)); });
  }
  // Waits up to 5 s for `part` in the log.
  void wait_for(const std::string& part) {
    for (int i = 0; i < 5000 && !logged(part); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
};

// Runs the pipeline job; once it has started, kills replica 0's stage 1 after `before` (ctl
// commands) and then runs `after`, on a thread of its own.
expected<actors::job_result> run_killing(driven& d, std::vector<std::string> before,
                                         const std::function<void(caf::scoped_actor&,
                                                                  const caf::actor&)>& after) {
  auto in = pipeline_job();
  REQUIRE_FALSE(actors::check_pipeline(in.cfg));
  actors::system_config scfg;
  caf::actor_system sys{scfg};
  auto seen = std::make_shared<test::spawned>();
  test::recorded_nodes on{sys, in, seen, {"local"}};
  std::thread ctl;
  actors::job_callbacks cb;
  cb.on_log = [&](const std::string& line) {
    std::lock_guard<std::mutex> g{d.mx};
    d.log += line + "\n";
  };
  cb.on_start = [&](const caf::actor& sup) {
    ctl = std::thread([&, sup] {
      caf::scoped_actor self{sys};
      if (!before.empty())
        d.ask(self, sup, before);
      {
        std::lock_guard<std::mutex> g{seen->mx};
        self->send_exit(seen->by_id.at(1), caf::exit_reason::kill); // replica 0, stage 1
      }
      after(self, sup);
    });
  };
  auto r = actors::run_job_on(sys, in, on.nodes, cb);
  ctl.join();
  return r;
}

} // namespace

TEST_CASE("pipeline: a replica whose stage fails while it is being removed is not restarted",
          "[actors][integration]") {
  driven d;
  auto r = run_killing(d, {"remove-worker", "0"}, [&](caf::scoped_actor& self,
                                                       const caf::actor& sup) {
    d.wait_for("(worker 1) failed");
    std::this_thread::sleep_for(std::chrono::milliseconds(300)); // past the restart backoff
    d.ask(self, sup, {"stop"});
  });
  INFO(d.log);
  REQUIRE(r);
  REQUIRE(d.answers.size() == 2);
  CHECK(d.answers[0] == "replica 0 (workers 0-1) finishes its minibatch, pushes and leaves");
  CHECK(d.logged("stage 1 of replica 0 (worker 1) failed"));
  CHECK(d.logged("replica 0 is not restarted: it was being removed"));
  CHECK_FALSE(d.logged("replica 0 restarted"));
}

TEST_CASE("pipeline: a stop while a failed replica waits for its restart ends the job",
          "[actors][integration]") {
  driven d;
  auto r = run_killing(d, {}, [&](caf::scoped_actor& self, const caf::actor& sup) {
    d.wait_for("(worker 1) failed"); // the stop comes within the 100 ms restart backoff
    d.ask(self, sup, {"stop"});
  });
  INFO(d.log);
  REQUIRE(r); // waited for good before the fix
  REQUIRE(d.answers.size() == 1);
  CHECK(d.answers[0].find("error") == std::string::npos);
  CHECK(d.logged("replica 0 is not restarted: the job is stopping"));
  CHECK_FALSE(d.logged("replica 0 restarted"));
}
