// A worker that fails for good (supervisor.restart "never") when no other worker is left: the
// job fails with a message that says what happened, not "every worker failed" when the others
// ended normally. A killed worker's chunk: what it reported trained is done, the rest redone.
#include <catch2/catch.hpp>

#include <atomic>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/job.hpp"
#include "actors/node.hpp"
#include "actors/system_config.hpp"
#include "messages/atoms.hpp"
#include "tests/actors/recording_node.hpp"
#include "tests/actors/synthetic_data.hpp"

using namespace herd;

namespace {

using test::spawned;

actors::job_inputs job(int workers) {
  actors::job_inputs in;
  auto& cfg = in.cfg;
  cfg.model.layers = {20, 16, 4};
  cfg.training.batch_size = 8;
  cfg.training.chunk_batches = 4;
  cfg.training.epochs = 4;
  cfg.training.eval_every = 0;
  cfg.consistency.model = config::consistency_model::asp;
  cfg.supervisor.restart = config::restart_policy::never;
  cfg.shards.assign(2, config::shard_config{"local"});
  cfg.workers.assign(size_t(workers), config::worker_config{"local", "cpu", {}});
  in.train = std::make_shared<data::dataset>(test::synthetic_dataset(2048, 20, 4, 1));
  in.test = std::make_shared<data::dataset>(test::synthetic_dataset(256, 20, 4, 2));
  return in;
}

// What a test does on each progress report (`p`) or log line (`line`) of the job.
using event_fn = std::function<void(const caf::actor& sup, spawned& seen,
                                    const actors::progress_info* p, const std::string* line)>;

// Runs `in` through a recording node; returns the job's error text ("" when it succeeded) and
// its result in `out` when given.
std::string run(const actors::job_inputs& in, event_fn on_event,
                actors::job_result* out = nullptr) {
  actors::system_config scfg;
  caf::actor_system sys{scfg};
  auto real = actors::spawn_node(sys, test::node_setup_for(in));
  auto seen = std::make_shared<spawned>();
  auto node = sys.spawn(test::recording_node, real, seen, 0u);
  caf::actor sup;
  actors::job_callbacks cb;
  cb.on_start = [&](const caf::actor& s) { sup = s; };
  cb.on_progress = [&](const actors::progress_info& p) { on_event(sup, *seen, &p, nullptr); };
  cb.on_log = [&](const std::string& line) { on_event(sup, *seen, nullptr, &line); };
  auto r = actors::run_job_on(sys, in, {{"local", node}}, cb);
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(real, caf::exit_reason::user_shutdown);
  if (r && out)
    *out = *r;
  return r ? std::string{} : describe(r.error());
}

void kill_worker(spawned& seen, uint32_t id) {
  std::lock_guard<std::mutex> g{seen.mx};
  caf::anon_send_exit(seen.by_id.at(id), caf::exit_reason::kill);
}

} // namespace

TEST_CASE("worker loss: the only worker killed with restart never fails the job as every "
          "worker failed",
          "[actors]") {
  std::atomic<bool> killed{false};
  auto err = run(job(1), [&](const caf::actor&, spawned& seen, const actors::progress_info* p,
                             const std::string*) {
    if (p && p->clock >= 5 && !killed.exchange(true))
      kill_worker(seen, 0);
  });
  CHECK(killed);
  CHECK(err.find("every worker failed; last: worker 0") != std::string::npos);
}

TEST_CASE("worker loss: the last worker killed after the other was removed names what is "
          "left untrained",
          "[actors]") {
  std::atomic<bool> removed{false}, killed{false};
  // Ten times the data (about a second): the removal at clock 5 and the kill come long before
  // its end even on a loaded machine, where 4 epochs once ended first (worker 1 had finished).
  auto in = job(2);
  in.cfg.training.epochs = 40;
  auto err = run(in, [&](const caf::actor& sup, spawned& seen,
                         const actors::progress_info* p, const std::string* line) {
    if (p && p->clock >= 5 && !removed.exchange(true))
      caf::anon_send(sup, remove_atom::value, uint32_t{0});
    // Logged once worker 0 is gone ("left at clock" when it handed chunks back).
    bool gone = line && (line->find("worker 0 left at clock") != std::string::npos
                         || line->find("worker 0 finished at clock") != std::string::npos);
    if (gone && !killed.exchange(true))
      kill_worker(seen, 1);
  });
  CHECK(killed);
  INFO(err);
  CHECK(err.find("worker 1 failed after the other workers ended and cannot be restarted")
        != std::string::npos);
  CHECK(err.find(" of 81920 samples trained") != std::string::npos);
}

TEST_CASE("worker loss: a worker killed mid-chunk hands back only what it did not report "
          "trained; every sample is trained once",
          "[actors]") {
  for (auto policy : {config::restart_policy::never, config::restart_policy::on_failure}) {
    auto in = job(2);
    in.cfg.supervisor.restart = policy;
    in.cfg.training.chunk_batches = 16; // 128 samples: the kill falls inside a chunk
    std::atomic<bool> killed{false};
    actors::job_result r;
    auto err = run(in,
                   [&](const caf::actor&, spawned& seen, const actors::progress_info* p,
                       const std::string*) {
                     if (p && p->clock >= 6 && !killed.exchange(true))
                       kill_worker(seen, 1);
                   },
                   &r);
    INFO(err);
    REQUIRE(err.empty());
    CHECK(killed);
    CHECK(r.samples == 4 * 2048); // was 4 * 2048 + what worker 1 trained of its chunk
    CHECK(r.steps == 4 * 2048 / 8);
  }
}
