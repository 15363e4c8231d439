// Pipeline jobs end to end through the actors in one process: K stages x R replicas under BSP
// give the parameters of the unsplit model trained on the same samples, and a stage killed
// mid-run costs its replica a restart, not the job.
#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/checkpoint_store.hpp"
#include "actors/job.hpp"
#include "actors/node.hpp"
#include "actors/system_config.hpp"
#include "messages/atoms.hpp"
#include "messages/specs.hpp"
#include "tests/actors/recording_node.hpp"
#include "tests/actors/synthetic_data.hpp"
#include "tests/temp_dir.hpp"

using namespace herd;

namespace {

actors::job_inputs job(int stages, int micro, int replicas, int batch, int shards) {
  actors::job_inputs in;
  auto& cfg = in.cfg;
  cfg.model.layers = {20, 16, 12, 4};
  cfg.optimizer.lr = 0.1;
  cfg.optimizer.momentum = 0.9;
  cfg.training.batch_size = batch;
  cfg.training.chunk_batches = 1; // chunk = one batch: the replicas of a clock share its samples
  cfg.training.epochs = 2;
  cfg.training.max_steps = 12;
  cfg.training.eval_every = 0;
  cfg.parallelism.pipeline_stages = stages;
  cfg.parallelism.micro_batches = micro;
  cfg.shards.assign(size_t(shards), config::shard_config{"local"});
  cfg.workers.assign(size_t(replicas * stages), config::worker_config{"local", "cpu", {}});
  in.train = std::make_shared<data::dataset>(test::synthetic_dataset(256, 20, 4, 1));
  in.test = std::make_shared<data::dataset>(test::synthetic_dataset(64, 20, 4, 2));
  return in;
}

actors::job_result run(const actors::job_inputs& in, actors::job_callbacks cb = {}) {
  REQUIRE_FALSE(actors::check_pipeline(in.cfg));
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  auto r = actors::run_job(sys, in, std::move(cb));
  REQUIRE(r);
  return *r;
}

void require_close(const std::vector<float>& want, const std::vector<float>& got) {
  REQUIRE(want.size() == got.size());
  size_t moved = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("parameter " << i);
    REQUIRE(std::fabs(want[i] - got[i]) <= 1e-5f + 1e-4f * std::fabs(want[i]));
    moved += want[i] != 0.0f;
  }
  CHECK(moved > want.size() / 2); // training really changed the parameters
}

} // namespace

TEST_CASE("pipeline: K stages over M micro-batches under BSP match the unsplit model, GPipe and 1F1B",
          "[actors][integration]") {
  auto unsplit = run(job(1, 1, 1, 16, 2));
  CHECK(unsplit.clock == 12);
  auto schedule = GENERATE(config::pipeline_schedule::gpipe,
                           config::pipeline_schedule::one_f_one_b);
  for (int k : {2, 3}) {
    for (int m : {1, 4}) {
      INFO("K=" << k << " M=" << m << " schedule " << config::to_string(schedule));
      auto in = job(k, m, 1, 16, 3);
      in.cfg.parallelism.schedule = schedule;
      auto r = run(in);
      CHECK(r.clock == 12);
      CHECK(r.samples == unsplit.samples);
      require_close(unsplit.params, r.params);
      REQUIRE(r.stage_idle.size() == size_t(k));
      for (auto& [id, idle] : r.stage_idle) {
        CHECK(idle >= 0.0);
        CHECK(idle < 1.0);
      }
    }
  }
}

TEST_CASE("pipeline: 2 replicas of 2 stages at batch b match the unsplit model at 2b",
          "[actors][integration]") {
  auto unsplit = run(job(1, 1, 1, 16, 2));
  auto r = run(job(2, 4, 2, 8, 4));
  CHECK(r.clock == 12);
  CHECK(r.samples == unsplit.samples);
  require_close(unsplit.params, r.params);
}

TEST_CASE("pipeline: jobs that cannot be cut into stages are refused with the JSON path",
          "[actors]") {
  auto cfg = job(4, 2, 1, 16, 4).cfg; // 3 layers
  CHECK(describe(actors::check_pipeline(cfg)).find("/parallelism/pipeline_stages") != std::string::npos);
  cfg = job(2, 2, 1, 16, 1).cfg;
  CHECK(describe(actors::check_pipeline(cfg)).find("/shards: a job with 2 pipeline stages needs at least 2 shards") != std::string::npos);
  cfg = job(2, 2, 1, 16, 2).cfg;
  cfg.workers.resize(3);
  CHECK(describe(actors::check_pipeline(cfg)).find("/workers") != std::string::npos);
}

namespace {

struct killed_stage_run {
  expected<actors::job_result> result{actors::job_result{}};
  bool killed = false;
  bool restarted = false;
  bool nudged = false; // the job stood still for a minute: the supervisor missed its end
};

// 2 replicas x 2 stages over 2 epochs; stage 1 of replica 0 is killed once 96 samples are in.
killed_stage_run run_killing_a_stage(bool hold_restarted_head) {
  auto in = job(2, 4, 2, 8, 3);
  in.cfg.training.max_steps = 0; // the whole data: 2 epochs of 256 samples
  in.cfg.supervisor.restart = config::restart_policy::on_failure;
  in.cfg.supervisor.max_restarts = 2;
  actors::system_config scfg;
  caf::actor_system sys{scfg};
  auto real = actors::spawn_node(sys, test::node_setup_for(in));
  auto seen = std::make_shared<test::spawned>();
  auto node = sys.spawn(test::recording_node, real, seen, hold_restarted_head ? 2u : 0u);
  std::atomic<bool> killed{false};
  std::vector<std::string> lines;
  std::mutex lines_mx;
  // A supervisor that missed the end of the job would wait forever: after a minute it is sent
  // a `finished` of worker 0 (long gone), which makes it look again, and the run counts as
  // failed rather than hanging the test binary.
  std::mutex end_mx;
  std::condition_variable end_cv;
  bool ended = false;
  std::atomic<bool> nudged{false};
  std::thread watchdog;
  actors::job_callbacks cb;
  cb.on_start = [&](const caf::actor& sup) {
    watchdog = std::thread([&, sup] {
      std::unique_lock<std::mutex> g{end_mx};
      if (end_cv.wait_for(g, std::chrono::seconds(60), [&] { return ended; }))
        return;
      nudged = true;
      caf::anon_send(sup, finished_atom::value, uint32_t{0}, uint64_t{0}, UINT64_MAX);
    });
  };
  cb.on_progress = [&](const actors::progress_info& p) {
    if (p.samples >= 96 && !killed.exchange(true)) {
      std::lock_guard<std::mutex> g{seen->mx};
      caf::anon_send_exit(seen->by_id.at(1), caf::exit_reason::kill); // replica 0, stage 1
    }
  };
  cb.on_log = [&](const std::string& line) {
    std::lock_guard<std::mutex> g{lines_mx};
    lines.push_back(line);
  };
  killed_stage_run out;
  out.result = actors::run_job_on(sys, in, {{"local", node}}, cb);
  {
    std::lock_guard<std::mutex> g{end_mx};
    ended = true;
  }
  end_cv.notify_all();
  if (watchdog.joinable())
    watchdog.join();
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(real, caf::exit_reason::user_shutdown);
  out.killed = killed;
  out.nudged = nudged;
  for (auto& l : lines)
    out.restarted |= l.find("replica 0 restarted") != std::string::npos;
  return out;
}

} // namespace

TEST_CASE("pipeline: a stage killed mid-run restarts its replica and every sample is trained",
          "[actors][faults]") {
  auto run = run_killing_a_stage(false);
  CHECK_FALSE(run.nudged);
  auto& r = run.result;
  REQUIRE(r);
  CHECK(run.killed);
  CHECK(run.restarted);
  // Every minibatch committed once: the samples add up to the data exactly.
  CHECK(r->samples == 2 * 256);
  // Shard 0 and 1 hold stage 0 (the larger), shard 2 stage 1. A stage dying between the
  // commit and its own push leaves its replica's minibatch on stage 0's shards only: at most
  // one such minibatch per failure (docs/parallelism.md).
  auto head = r->shards[0].pushes;
  auto tail = r->shards[2].pushes;
  CHECK(head >= 2 * 256 / 8);
  CHECK(head - tail <= 1);
  CHECK(r->shards[1].pushes == head);
}

// Seen once in ~100 runs of the suite: the restarted replica's stages ran out of data and
// finished before the supervisor had the spawn reply of its stage 0, so the restart completed
// after the job's last `finished` and nothing looked at the end of the job again.
TEST_CASE("pipeline: a restarted replica that finishes before the supervisor hears it was placed "
          "ends the job",
          "[actors][faults]") {
  auto run = run_killing_a_stage(true);
  CHECK_FALSE(run.nudged);
  auto& r = run.result;
  REQUIRE(r);
  CHECK(run.killed);
  CHECK(run.restarted);
  CHECK(r->samples == 2 * 256);
}

TEST_CASE("pipeline: replicas of stages train under SSP and ASP over every sample once",
          "[actors][integration]") {
  auto model = GENERATE(config::consistency_model::ssp, config::consistency_model::asp);
  INFO("consistency " << config::to_string(model));
  auto in = job(2, 4, 2, 8, 3);
  in.cfg.training.max_steps = 0; // 2 epochs of 256 samples
  in.cfg.consistency.model = model;
  in.cfg.consistency.staleness = 1;
  auto r = run(in);
  CHECK(r.samples == 2 * 256);
  // Every committed minibatch reached every stage's shards, once per stage.
  CHECK(r.shards[0].pushes == 2 * 256 / 8);
  CHECK(r.shards[2].pushes == r.shards[0].pushes);
  for (float p : r.params)
    REQUIRE(std::isfinite(p));
}

TEST_CASE("pipeline: switching BSP -> SSP(1) -> ASP -> BSP mid-run trains every sample once",
          "[actors][integration]") {
  auto in = job(2, 4, 2, 8, 3);
  in.cfg.training.max_steps = 0; // 2 epochs of 256 samples: 32 minibatches, 16 clocks each
  in.cfg.consistency.switches = {{5, config::consistency_model::ssp, 1},
                                 {9, config::consistency_model::asp, 0},
                                 {12, config::consistency_model::bsp, 0}};
  std::vector<std::string> lines;
  actors::job_callbacks cb;
  cb.on_log = [&](const std::string& line) { lines.push_back(line); };
  auto r = run(in, cb);
  std::string all;
  for (const auto& l : lines)
    all += l + "\n";
  INFO(all);
  CHECK(all.find("consistency: ssp(1) from clock 5") != std::string::npos);
  CHECK(all.find("consistency: asp from clock 9") != std::string::npos);
  CHECK(all.find("consistency: bsp from clock 12") != std::string::npos);
  CHECK(r.samples == 2 * 256);
  CHECK(r.shards[0].pushes == 2 * 256 / 8);
  CHECK(r.shards[1].pushes == r.shards[0].pushes);
  CHECK(r.shards[2].pushes == r.shards[0].pushes);
  for (float p : r.params)
    REQUIRE(std::isfinite(p));
}

TEST_CASE("pipeline: stages push top-k with error feedback and pull fp16, and still train",
          "[actors][integration]") {
  auto in = job(2, 4, 2, 16, 3);
  in.cfg.training.max_steps = 0;
  in.cfg.training.epochs = 8; // 8 x 256 samples: 64 minibatches per replica
  in.test = std::make_shared<data::dataset>(test::synthetic_dataset(1024, 20, 4, 2));
  auto dense = run(in);
  in.cfg.compression.codec = "topk";
  in.cfg.compression.density = 0.05;
  in.cfg.compression.error_feedback = true;
  in.cfg.compression.pull = config::pull_format::fp16;
  auto r = run(in);
  CHECK(r.samples == 8 * 256);
  CHECK(r.shards[0].pushes == 8 * 256 / 16);
  CHECK(r.up_bytes * 5 < r.up_dense_bytes); // 5% of the values, with their positions
  CHECK(r.down_bytes * 10 < r.down_dense_bytes * 6); // 2 bytes a value, and headers
  for (const auto& s : r.shards)
    CHECK(s.decoded == s.pushes + s.refused);
  INFO("dense " << dense.final_eval.accuracy << ", compressed " << r.final_eval.accuracy);
  CHECK(dense.final_eval.accuracy > 0.6);
  CHECK(r.final_eval.accuracy > dense.final_eval.accuracy - 0.1);
}

TEST_CASE("pipeline: ctl shows stages, checkpoints, removes and adds whole replicas", "[actors]") {
  test::temp_dir dir;
  auto in = job(2, 4, 2, 8, 3);
  in.cfg.checkpoint.dir = dir.file("ckpt");
  in.cfg.training.max_steps = 0;
  in.cfg.training.epochs = 40; // 640 steps: the requests below are answered long before the end
  actors::system_config scfg;
  caf::actor_system sys{scfg};
  std::thread ctl;
  std::vector<std::string> answers;
  actors::job_callbacks cb;
  cb.on_start = [&](const caf::actor& sup) {
    ctl = std::thread([&sys, &answers, sup] {
      caf::scoped_actor self{sys};
      for (std::vector<std::string> words :
           {std::vector<std::string>{"status"}, {"checkpoint"}, {"remove-worker", "1"},
            {"add-worker", "--node", "local", "--device", "cuda:0"},
            {"add-worker", "--node", "local"}, {"status"}})
        self->request(sup, std::chrono::seconds(30), ctl_atom::value, messages::ctl_request{words})
          .receive([&](const std::string& s) { answers.push_back(s); },
                   [&](caf::error& e) { answers.push_back("error: " + describe(e)); });
    });
  };
  auto r = actors::run_job(sys, in, cb);
  ctl.join();
  REQUIRE(r);
  REQUIRE(answers.size() == 6);
  CHECK(answers[0].find("\"role\":\"replica 1 stage 1\"") != std::string::npos);
  // Every stage held at the checkpoint's clock; the files are whole.
  CHECK(answers[1].find("written to " + dir.file("ckpt")) != std::string::npos);
  auto c = actors::load_latest_checkpoint(dir.file("ckpt"));
  REQUIRE(c);
  CHECK(c->workers.size() == 4);
  CHECK(answers[2] == "replica 0 (workers 0-1) finishes its minibatch, pushes and leaves");
  CHECK(answers[3].find("pipeline stages compute on the CPU") != std::string::npos);
  CHECK(answers[4].find("replica 2 (workers 4-5) added on node local") != std::string::npos);
  CHECK(answers[5].find("\"role\":\"replica 2 stage 1\"") != std::string::npos);
  // Every minibatch trained once, by whichever replicas were there: one push per minibatch
  // on every stage's shards (replica 0 left after a commit, nothing half-pushed).
  CHECK(r->samples == 40 * 256);
  for (const auto& s : r->shards)
    CHECK(s.pushes == 40 * 256 / 8);
}

namespace {

struct stopped_run {
  expected<actors::job_result> result{actors::job_result{}};
  bool stopped = false;
  bool nudged = false; // the job stood still for 30 s: some stage waits forever
};

// 2 replicas x 2 stages at M = 8 over 40 epochs, far more than the test lets it train. Once
// `after` samples are in, `stop` (on the supervisor, and the recording node's stages) stops it.
template <class Stop>
stopped_run run_stopping(uint64_t after, Stop stop) {
  auto in = job(2, 8, 2, 16, 3);
  in.cfg.training.max_steps = 0;
  in.cfg.training.epochs = 40;
  actors::system_config scfg;
  caf::actor_system sys{scfg};
  auto real = actors::spawn_node(sys, test::node_setup_for(in));
  auto seen = std::make_shared<test::spawned>();
  auto node = sys.spawn(test::recording_node, real, seen, 0u);
  std::mutex end_mx;
  std::condition_variable end_cv;
  bool ended = false;
  std::atomic<bool> stopped{false}, nudged{false};
  caf::actor sup;
  std::thread watchdog;
  actors::job_callbacks cb;
  cb.on_start = [&](const caf::actor& s) {
    sup = s;
    watchdog = std::thread([&] {
      std::unique_lock<std::mutex> g{end_mx};
      if (end_cv.wait_for(g, std::chrono::seconds(30), [&] { return ended; }))
        return;
      nudged = true; // the stuck job ends (in failure) once its stages are gone
      std::lock_guard<std::mutex> k{seen->mx};
      for (auto& [id, a] : seen->by_id)
        caf::anon_send_exit(a, caf::exit_reason::kill);
    });
  };
  cb.on_progress = [&](const actors::progress_info& p) {
    // Reports can come before on_start (the other replica still being placed): no handle yet.
    if (p.samples >= after && sup && !stopped.exchange(true)) {
      std::lock_guard<std::mutex> g{seen->mx};
      stop(sup, *seen);
    }
  };
  stopped_run out;
  out.result = actors::run_job_on(sys, in, {{"local", node}}, cb);
  {
    std::lock_guard<std::mutex> g{end_mx};
    ended = true;
  }
  end_cv.notify_all();
  if (watchdog.joinable())
    watchdog.join();
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(real, caf::exit_reason::user_shutdown);
  out.stopped = stopped;
  out.nudged = nudged;
  return out;
}

} // namespace

// `herd ctl stop` (and herd run's SIGINT) told every stage to stop: a later stage left at its
// next pull while stage 0 had begun the next minibatch and waited for its deltas forever.
TEST_CASE("pipeline: ctl stop mid-run ends every replica after a committed minibatch",
          "[actors][integration]") {
  for (uint64_t after : {16, 48, 80, 112, 144, 176}) {
    INFO("stop once " << after << " samples are in");
    auto run = run_stopping(after, [](const caf::actor& sup, test::spawned&) {
      caf::anon_send(sup, ctl_atom::value, messages::ctl_request{{"stop"}});
    });
    CHECK(run.stopped);
    CHECK_FALSE(run.nudged);
    REQUIRE(run.result);
    auto& r = *run.result;
    CHECK(r.samples < 40 * 256);
    // Each replica ended after a commit: every stage's shards took every minibatch.
    CHECK(r.samples == 16 * r.shards[0].pushes);
    CHECK(r.shards[1].pushes == r.shards[0].pushes);
    CHECK(r.shards[2].pushes == r.shards[0].pushes);
  }
}

// The deterministic half of the above: a stop that reaches a later stage is not its to act on.
TEST_CASE("pipeline: a stage after stage 0 ignores a stop and its replica trains on",
          "[actors][integration]") {
  auto run = run_stopping(48, [](const caf::actor&, test::spawned& seen) {
    caf::anon_send(seen.by_id.at(1), stop_atom::value); // replica 0, stage 1
  });
  CHECK(run.stopped);
  CHECK_FALSE(run.nudged);
  REQUIRE(run.result);
  CHECK(run.result->samples == 40 * 256);
}

// The supervisor keeps a lost node in its node map (it is never used again): status showed it
// connected. Here node b's actor ends and its stages go on. Only b is in the job's node list:
// in-process nodes have no address, and node a dials no peer named after it.
TEST_CASE("pipeline: ctl status shows a node the job lost as not connected", "[actors]") {
  auto in = job(2, 4, 2, 8, 3);
  in.cfg.training.max_steps = 0;
  in.cfg.training.epochs = 40; // far more than the test lets it train: stopped below
  in.cfg.nodes = {config::node_config{"b"}};
  in.cfg.shards.assign(3, config::shard_config{"a"});
  in.cfg.workers = {{"a", "cpu", {}}, {"a", "cpu", {}}, {"b", "cpu", {}}, {"b", "cpu", {}}};
  actors::system_config scfg;
  caf::actor_system sys{scfg};
  auto seen = std::make_shared<test::spawned>();
  std::map<std::string, caf::actor> nodes, reals;
  for (std::string name : {"a", "b"}) {
    reals[name] = actors::spawn_node(sys, test::node_setup_for(in, name));
    nodes[name] = sys.spawn(test::recording_node, reals[name], seen, 0u);
  }
  std::mutex mx;
  std::condition_variable cv;
  bool lost = false;
  std::vector<std::string> answers;
  std::thread ctl;
  actors::job_callbacks cb;
  cb.on_log = [&](const std::string& line) {
    std::lock_guard<std::mutex> g{mx};
    lost |= line.find("node b lost") != std::string::npos;
    cv.notify_all();
  };
  cb.on_start = [&](const caf::actor& sup) {
    ctl = std::thread([&, sup] {
      caf::scoped_actor self{sys};
      auto ask = [&](std::string word) {
        self->request(sup, std::chrono::seconds(30), ctl_atom::value,
                      messages::ctl_request{{word}})
          .receive([&](const std::string& s) { answers.push_back(s); },
                   [&](caf::error& e) { answers.push_back("error: " + describe(e)); });
      };
      ask("status");
      caf::anon_send_exit(nodes.at("b"), caf::exit_reason::kill);
      {
        std::unique_lock<std::mutex> g{mx};
        cv.wait_for(g, std::chrono::seconds(30), [&] { return lost; });
      }
      ask("status");
      ask("stop");
    });
  };
  auto r = actors::run_job_on(sys, in, nodes, cb);
  if (ctl.joinable())
    ctl.join();
  for (auto& [name, n] : reals)
    caf::anon_send_exit(n, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(nodes.at("a"), caf::exit_reason::user_shutdown);
  INFO((r ? "" : describe(r.error())));
  CHECK(r);
  CHECK(lost);
  REQUIRE(answers.size() == 3);
  std::string b = R"("host":"127.0.0.1","lost":LOST,"name":"b")";
  auto yes = R"({"connected":true,)" + std::regex_replace(b, std::regex{"LOST"}, "false");
  auto no = R"({"connected":false,)" + std::regex_replace(b, std::regex{"LOST"}, "true");
  CHECK(answers[0].find(yes) != std::string::npos);
  CHECK(answers[1].find(no) != std::string::npos);
}
