// Steering a running job: removing a worker, switching the consistency model, and the
// shards' deferred-pull maps and round buffers staying drained over thousands of clocks.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "actors/job.hpp"
#include "actors/node.hpp"
#include "actors/system_config.hpp"
#include "messages/atoms.hpp"
#include "messages/specs.hpp"
#include "tests/actors/recording_node.hpp"
#include "tests/actors/synthetic_data.hpp"

using namespace herd;
using config::consistency_model;

namespace {

using later_atom = caf::atom_constant<caf::atom("later")>;

actors::job_inputs job(int workers, consistency_model model, int staleness) {
  actors::job_inputs in;
  auto& cfg = in.cfg;
  cfg.model.layers = {20, 16, 4};
  cfg.optimizer.lr = 0.05;
  cfg.training.batch_size = 8;
  cfg.training.chunk_batches = 4;
  cfg.training.epochs = 4;
  cfg.training.eval_every = 0;
  cfg.consistency.model = model;
  cfg.consistency.staleness = staleness;
  cfg.shards.assign(2, config::shard_config{"local"});
  cfg.workers.assign(size_t(workers), config::worker_config{"local", "cpu", {}});
  in.train = std::make_shared<data::dataset>(test::synthetic_dataset(2048, 20, 4, 1));
  in.test = std::make_shared<data::dataset>(test::synthetic_dataset(512, 20, 4, 2));
  return in;
}

uint64_t total_pushes(const actors::job_result& r) {
  uint64_t n = r.shards.front().pushes;
  for (const auto& s : r.shards)
    CHECK(s.pushes == n); // every shard saw every step
  return n;
}

void check_drained(const actors::job_result& r) {
  for (const auto& s : r.shards) {
    CHECK(s.waiting_pulls == 0);
    CHECK(s.open_rounds == 0);
  }
}

} // namespace

TEST_CASE("job: a worker removed mid-run leaves, and BSP and SSP go on without it",
          "[actors][integration]") {
  auto model = GENERATE(consistency_model::bsp, consistency_model::ssp);
  INFO("model " << config::to_string(model));
  auto in = job(3, model, 2);
  in.cfg.training.chunk_batches = 16; // 128 samples: removed most likely mid-chunk
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  caf::actor sup;
  std::atomic<bool> removed{false};
  std::vector<std::string> logs;
  actors::job_callbacks cb;
  cb.on_start = [&](const caf::actor& s) { sup = s; };
  cb.on_log = [&](const std::string& line) { logs.push_back(line); };
  cb.on_progress = [&](const actors::progress_info& p) {
    if (p.clock >= 20 && sup && !removed.exchange(true)) // sup: set by on_start
      caf::anon_send(sup, remove_atom::value, uint32_t{2});
  };
  auto r = actors::run_job(sys, in, cb);
  REQUIRE(r);
  CHECK(removed);
  // Every sample trained exactly once: 4 epochs of 2048 samples, the removed worker's trained
  // part of its chunk not again (it hands back only the rest).
  std::string all;
  for (const auto& line : logs)
    all += line + "\n";
  INFO(all);
  CHECK(r->samples == 4 * 2048);
  CHECK(r->steps == 4 * 2048 / 8);
  check_drained(*r);
  CHECK(all.find("removing worker 2") != std::string::npos);
  CHECK(r->final_eval.accuracy > 0.6);
}

TEST_CASE("job: switching BSP -> SSP(2) -> ASP mid-run keeps every update and trains",
          "[actors][integration]") {
  auto in = job(3, consistency_model::bsp, 0);
  in.cfg.consistency.switches = {{40, consistency_model::ssp, 2}, {120, consistency_model::asp, 0}};
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  std::vector<std::string> logs;
  actors::job_callbacks cb;
  cb.on_log = [&](const std::string& line) { logs.push_back(line); };
  auto r = actors::run_job(sys, in, cb);
  REQUIRE(r);
  std::string all;
  for (const auto& l : logs)
    all += l + "\n";
  INFO(all);
  CHECK(all.find("consistency: ssp(2) from clock 40") != std::string::npos);
  CHECK(all.find("consistency: asp from clock 120") != std::string::npos);
  // 4 epochs x 2048 samples / batch 8 = 1024 steps over all workers; each shard accepted
  // every one exactly once.
  CHECK(total_pushes(*r) == 1024);
  check_drained(*r);
  CHECK(r->staleness_max > 0); // ASP phase: stale updates happened
  CHECK(r->final_eval.accuracy > 0.6);
}

TEST_CASE("job: deferred pulls and round buffers stay bounded over thousands of clocks",
          "[actors][integration]") {
  auto model = GENERATE(consistency_model::bsp, consistency_model::ssp);
  INFO("model " << config::to_string(model));
  auto in = job(3, model, 3);
  in.cfg.training.batch_size = 2;
  in.cfg.training.epochs = 6; // 6 x 2048 / (3 x 2) = 2048 clocks per worker
  in.cfg.training.eval_every = 500;
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  auto r = actors::run_job(sys, in);
  REQUIRE(r);
  CHECK(r->clock >= 2000);
  check_drained(*r);
  for (const auto& s : r->shards) {
    CHECK(s.waiting_pulls_max <= 3 + 1);        // at most one per worker plus the evaluator
    CHECK(s.open_rounds_max <= (model == consistency_model::bsp ? 1u : 0u));
  }
}

TEST_CASE("job: the result comes once every node has acknowledged the detach",
          "[actors][integration]") {
  // The node answers the detach 300 ms late (as over a slow link): a job that delivered its
  // result before the answer would let its process exit before the node saw the end.
  auto in = job(2, consistency_model::bsp, 0);
  in.cfg.training.epochs = 1;
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  std::mutex mx;
  std::vector<std::string> node_log;
  auto setup = test::node_setup_for(in);
  setup.on_log = [&](const std::string& line) {
    std::lock_guard<std::mutex> g{mx};
    node_log.push_back(line);
  };
  auto real = actors::spawn_node(sys, setup);
  auto slow = sys.spawn([=](caf::event_based_actor* self) -> caf::behavior {
    return {
      [=](attach_atom a, caf::actor& sup, std::string& json, std::vector<messages::peer>& p) {
        auto rp = self->make_response_promise();
        rp.delegate(real, a, std::move(sup), std::move(json), std::move(p));
        return rp;
      },
      [=](spawn_shard_atom a, messages::shard_spec& spec) {
        auto rp = self->make_response_promise();
        rp.delegate(real, a, std::move(spec));
        return rp;
      },
      [=](spawn_worker_atom a, messages::worker_spec& spec) {
        auto rp = self->make_response_promise();
        rp.delegate(real, a, std::move(spec));
        return rp;
      },
      [=](detach_atom a) {
        auto rp = self->make_response_promise();
        self->delayed_send(self, std::chrono::milliseconds(300), later_atom::value);
        self->become(caf::keep_behavior, [=](later_atom) mutable {
          rp.delegate(real, a);
          self->unbecome();
        });
        return rp;
      },
    };
  });
  auto r = actors::run_job_on(sys, in, {{"local", slow}}, {});
  REQUIRE(r);
  {
    std::lock_guard<std::mutex> g{mx};
    std::string all;
    for (const auto& line : node_log)
      all += line + "\n";
    INFO(all);
    CHECK(all.find("job detached") != std::string::npos);
  }
  for (const auto& a : {slow, real})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}
