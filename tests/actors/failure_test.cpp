// Failures and what the job says of them: an actor whose handler throws (std::bad_alloc of a
// model that barely fits) ends with one line naming itself, and the job's failure carries it; a
// shard lost with periodic checkpoints off; a node the job lost refused to add-worker.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/exception_exit.hpp"
#include "actors/job.hpp"
#include "actors/node.hpp"
#include "actors/system_config.hpp"
#include "messages/errc.hpp"
#include "tests/actors/recording_node.hpp"
#include "tests/actors/small_job.hpp"
#include "tests/temp_dir.hpp"

using namespace herd;

namespace {

// Throws `what` on any int: "bad_alloc" throws std::bad_alloc, anything else a runtime_error.
caf::behavior thrower(caf::event_based_actor* self, std::string what) {
  self->set_exception_handler(actors::exit_on_exception("shard 3"));
  return {[=](int) {
    if (what == "bad_alloc")
      throw std::bad_alloc{};
    throw std::runtime_error(what);
  }};
}

// The job's log lines, from the supervisor's thread, read by the test's.
struct job_log {
  std::mutex mx;
  std::string text;
  std::function<void(const std::string&)> sink() {
    return [this](const std::string& line) {
      std::lock_guard<std::mutex> g{mx};
      text += line + "\n";
    };
  }
  bool has(const std::string& part) {
    std::lock_guard<std::mutex> g{mx};
    return text.find(part) != std::string::npos;
  }
};

// The supervisor's answers to ctl commands, in order; a refusal as "error: <its line>".
std::vector<std::string> ask(caf::scoped_actor& self, const caf::actor& sup,
                             const std::vector<std::vector<std::string>>& commands) {
  std::vector<std::string> out;
  for (const auto& words : commands)
    self->request(sup, std::chrono::seconds(30), ctl_atom::value, messages::ctl_request{words})
      .receive([&](const std::string& s) { out.push_back(s); },
               [&](caf::error& e) { out.push_back("error: " + describe(e)); });
  return out;
}

// Runs `in` on recorded nodes `names`; once the job has started, `drive` runs on a thread of
// its own with the supervisor, the nodes and the spawned actors (ctl requests, kills). `log`
// gets the job's lines.
using driver = std::function<void(caf::scoped_actor&, const caf::actor&, test::recorded_nodes&,
                                  test::spawned&)>;

expected<actors::job_result> run_driven(const actors::job_inputs& in, job_log& log,
                                        const driver& drive,
                                        std::vector<std::string> names = {"local"}) {
  actors::system_config scfg;
  caf::actor_system sys{scfg};
  auto seen = std::make_shared<test::spawned>();
  test::recorded_nodes on{sys, in, seen, std::move(names)};
  std::thread ctl;
  actors::job_callbacks cb;
  cb.on_log = log.sink();
  cb.on_start = [&](const caf::actor& sup) {
    ctl = std::thread([&, sup] {
      caf::scoped_actor self{sys};
      drive(self, sup, on, *seen);
    });
  };
  auto r = actors::run_job_on(sys, in, on.nodes, cb);
  ctl.join();
  return r;
}

void kill_worker(caf::scoped_actor& self, test::spawned& seen, uint32_t id) {
  std::lock_guard<std::mutex> g{seen.mx};
  self->send_exit(seen.by_id.at(id), caf::exit_reason::kill);
}

// Why an actor running thrower(what) ended after one message.
std::string exit_line(std::string what) {
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto a = sys.spawn(thrower, std::move(what));
  self->monitor(a);
  self->send(a, 1);
  std::string line;
  self->receive([&](caf::down_msg& dm) {
    CHECK(code_of(dm.reason) == errc::actor_failed);
    line = describe(dm.reason);
  });
  return line;
}

} // namespace

TEST_CASE("failure: an actor's exception ends it with one line naming it", "[actors]") {
  CHECK(exit_line("bad_alloc") == "shard 3 failed: out of memory (std::bad_alloc)");
  CHECK(exit_line("slice out of range") == "shard 3 failed: slice out of range");
}

TEST_CASE("failure: a shard that failed with checkpoints off ends the job naming both",
          "[actors][integration]") {
  auto in = test::small_job();
  in.cfg.training.epochs = 50; // far more than the test lets it train
  actors::system_config scfg;
  caf::actor_system sys{scfg};
  auto seen = std::make_shared<test::spawned>();
  auto real = actors::spawn_node(sys, test::node_setup_for(in));
  std::map<std::string, caf::actor> nodes{{"local", sys.spawn(test::recording_node, real, seen,
                                                              0u)}};
  std::atomic<bool> failed{false};
  actors::job_callbacks cb;
  cb.on_progress = [&](const actors::progress_info& p) {
    if (p.clock < 3 || failed.exchange(true))
      return;
    std::lock_guard<std::mutex> g{seen->mx};
    caf::scoped_actor killer{sys};
    killer->send_exit(seen->shards.at(0),
                      make_error(errc::actor_failed,
                                 "shard 0 failed: out of memory (std::bad_alloc)"));
  };
  auto r = actors::run_job_on(sys, in, nodes, cb);
  caf::anon_send_exit(nodes.at("local"), caf::exit_reason::user_shutdown);
  caf::anon_send_exit(real, caf::exit_reason::user_shutdown);
  REQUIRE(failed);
  REQUIRE_FALSE(r);
  CHECK(describe(r.error())
        == "shard 0 lost (shard 0 failed: out of memory (std::bad_alloc)) and no checkpoint to "
           "recover from (checkpoints are off: /checkpoint/every is 0)");
}

TEST_CASE("failure: with periodic checkpoints off a shard loss rolls back to a ctl checkpoint",
          "[actors][integration]") {
  test::temp_dir dir;
  auto in = test::small_job(); // 256 samples, batch 8, 2 workers
  in.cfg.training.epochs = 20; // long enough for the checkpoint's round trip
  in.cfg.checkpoint.every = 0; // only `herd ctl checkpoint` writes one
  in.cfg.checkpoint.dir = dir.file("ck");
  in.cfg.shards = {config::shard_config{"a"}, config::shard_config{"b"}};
  in.cfg.workers.assign(2, config::worker_config{"a", "cpu", {}});
  actors::system_config scfg;
  caf::actor_system sys{scfg};
  auto seen = std::make_shared<test::spawned>();
  test::recorded_nodes on{sys, in, seen, {"a", "b"}};
  auto& nodes = on.nodes;
  job_log log;
  std::string answer;
  std::thread ctl;
  std::atomic<bool> killed{false};
  actors::job_callbacks cb;
  cb.on_log = log.sink();
  cb.on_start = [&](const caf::actor& sup) {
    ctl = std::thread([&, sup] {
      caf::scoped_actor self{sys};
      answer = ask(self, sup, {{"checkpoint"}}).at(0);
      if (answer.find("written to") == std::string::npos)
        return;
      std::lock_guard<std::mutex> g{seen->mx};
      killed = true;
      self->send_exit(seen->shards.at(1), caf::exit_reason::kill);
    });
  };
  auto r = actors::run_job_on(sys, in, nodes, cb);
  ctl.join();
  INFO(log.text << answer);
  REQUIRE(killed);
  REQUIRE(r);
  CHECK(log.has("rolling the job back to the checkpoint at clock"));
  CHECK(r->samples == 20 * 256);
}

TEST_CASE("failure: add-worker on a node the job lost is refused at once", "[actors][integration]") {
  auto in = test::small_job();
  in.cfg.training.epochs = 50; // far more than the test lets it train
  in.cfg.shards = {config::shard_config{"a"}};
  in.cfg.workers.assign(1, config::worker_config{"a", "cpu", {}});
  job_log log;
  std::vector<std::string> answers;
  auto r = run_driven(
    in, log,
    [&](caf::scoped_actor& self, const caf::actor& sup, test::recorded_nodes& on,
        test::spawned&) {
      self->send_exit(on.nodes.at("b"), caf::exit_reason::kill); // node b's daemon dies
      for (int i = 0; i < 200 && !log.has("node b lost"); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      auto t0 = std::chrono::steady_clock::now();
      answers = ask(self, sup,
                    {{"add-worker", "--node", "b"},
                     {"add-worker", "--node", "a", "--node", "a"}, // any client, not only ctl
                     {"stop"}});
      CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
    },
    {"a", "b"});
  INFO(log.text);
  REQUIRE(r);
  REQUIRE(answers.size() == 3);
  CHECK(answers[0] == "error: node b is lost: the job no longer uses it");
  CHECK(answers[1] == "error: add-worker: --node given twice");
}

TEST_CASE("failure: a job whose workers were all removed says that its data was not used up",
          "[actors][integration]") {
  auto in = test::small_job(); // 2 workers
  in.cfg.training.epochs = 50; // far more than the test lets it train
  job_log log;
  auto r = run_driven(in, log, [&](caf::scoped_actor& self, const caf::actor& sup,
                                   test::recorded_nodes&, test::spawned&) {
    ask(self, sup, {{"remove-worker", "0"}, {"remove-worker", "1"}});
  });
  INFO(log.text);
  REQUIRE(r);
  CHECK(r->samples < 50 * 256);
  CHECK(log.has("every worker was removed before the data was used up: "
                + std::to_string(r->samples) + " of 12800 samples trained"));
}

TEST_CASE("failure: a stop while a failed worker waits for its restart ends the job without it",
          "[actors][integration]") {
  auto in = test::small_job(); // 2 workers; on-failure restarts after a 100 ms backoff
  in.cfg.training.epochs = 50; // far more than the test lets it train
  job_log log;
  std::vector<std::string> answers;
  auto r = run_driven(in, log, [&](caf::scoped_actor& self, const caf::actor& sup,
                                   test::recorded_nodes&, test::spawned& seen) {
    auto spawned = [&] {
      std::lock_guard<std::mutex> g{seen.mx};
      return seen.by_id.size();
    };
    for (int i = 0; i < 500 && spawned() < 2; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    kill_worker(self, seen, 1);
    answers = ask(self, sup, {{"stop"}, {"add-worker", "--node", "local"}});
  });
  INFO(log.text);
  REQUIRE(r);
  CHECK(r->samples < 50 * 256); // it used to restart the worker, which trained the rest
  // No restart once the stop is in (one before it, on a slow machine, is told to stop).
  auto restarted = log.text.find("worker 1 restarted");
  auto stopped = log.text.find("stop requested");
  REQUIRE(stopped != std::string::npos);
  CHECK((restarted == std::string::npos || restarted < stopped));
  REQUIRE(answers.size() == 2);
  // Refused; or, when the job ended first (its steps take microseconds), its supervisor is gone.
  CHECK((answers[1] == "error: the job is stopping"
         || answers[1].find("request_receiver_down") != std::string::npos));
}

TEST_CASE("failure: a worker that fails while it is being removed is not restarted",
          "[actors][integration]") {
  auto in = test::small_job(); // 2 workers; on-failure restarts after a 100 ms backoff
  in.cfg.training.epochs = 50; // far more than the test lets it train
  // Worker 1's steps take long, so the kill below lands before it has left its shards.
  in.cfg.workers[1].straggler = {2000.0, 1.0};
  job_log log;
  std::vector<std::string> answers;
  auto r = run_driven(in, log, [&](caf::scoped_actor& self, const caf::actor& sup,
                                   test::recorded_nodes&, test::spawned& seen) {
    answers = ask(self, sup, {{"remove-worker", "1"}});
    kill_worker(self, seen, 1);
    for (int i = 0; i < 1000 && !log.has("worker 1 failed"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(300)); // past the restart backoff
    answers.push_back(ask(self, sup, {{"stop"}}).at(0));
  });
  INFO(log.text);
  REQUIRE(r);
  REQUIRE(answers.size() == 2);
  CHECK(answers[0] == "worker 1 finishes its step, pushes and leaves");
  CHECK(log.has("worker 1 failed"));
  CHECK(log.has("worker 1 is not restarted: it was being removed"));
  CHECK_FALSE(log.has("worker 1 restarted"));
}

TEST_CASE("failure: a checkpoint asked again while every worker waits for its restart is not "
          "written twice",
          "[actors][integration]") {
  auto in = test::small_job(); // 2 workers; on-failure restarts after a 100 ms backoff
  in.cfg.training.epochs = 50; // far more than the test lets it train
  test::temp_dir dir;
  in.cfg.checkpoint.dir = dir.file("ckpt");
  job_log log;
  std::vector<std::string> answers;
  auto r = run_driven(in, log, [&](caf::scoped_actor& self, const caf::actor& sup,
                                   test::recorded_nodes&, test::spawned& seen) {
    for (int i = 0; i < 500; ++i) {
      std::lock_guard<std::mutex> g{seen.mx};
      if (seen.by_id.size() >= 2)
        break;
    }
    kill_worker(self, seen, 0);
    kill_worker(self, seen, 1);
    for (int i = 0; i < 1000 && !(log.has("worker 0 failed") && log.has("worker 1 failed")); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    answers = ask(self, sup, {{"checkpoint"}, {"checkpoint"}, {"stop"}});
  });
  INFO(log.text);
  REQUIRE(r);
  REQUIRE(answers.size() == 3);
  CHECK(answers[0].find("checkpoint at clock") == 0);
  if (answers[1] != answers[0]) { // a restart came between them: a new clock, written once
    WARN("a worker restarted between the two checkpoints: " << answers[1]);
    return;
  }
  // Nothing trained in between: the second is answered with the first, not written again.
  auto first = log.text.find(answers[0]);
  REQUIRE(first != std::string::npos);
  CHECK(log.text.find(answers[0], first + 1) == std::string::npos);
}
