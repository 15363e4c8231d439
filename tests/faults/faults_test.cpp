// Faults with real processes: a worker's daemon SIGKILLed mid-training (the worker restarts on
// a surviving node; the daemon started again rejoins the job), the supervisor's process SIGKILLed and the job resumed from its last
// checkpoint on the same, still running, daemons; a shard's daemon killed and the job (plain or
// pipeline) rolled back to its newest checkpoint; every daemon killed, and herd run failing at
// once.
#include <catch2/catch.hpp>

#include <arpa/inet.h>

#include <random>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/cluster/processes.hpp"
#include "tests/temp_dir.hpp"

#ifndef HERD_EXAMPLES_DIR
#error "HERD_EXAMPLES_DIR must name the examples directory"
#endif

namespace {

using namespace std::chrono_literals;
using herd::test::herd_process;
using herd::test::temp_dir;
using json = nlohmann::json;

struct three_daemons {
  temp_dir dir;
  std::vector<std::unique_ptr<herd_process>> daemons;
  std::string topology;

  three_daemons() {
    json nodes = json::array();
    for (auto name : {"a", "b", "c"})
      nodes.push_back({{"name", name}, {"host", "127.0.0.1"}, {"port", herd::test::free_port()}});
    topology = dir.file("cluster.json");
    std::ofstream{topology} << json{{"nodes", nodes}, {"connect_timeout_s", 30}}.dump();
    for (std::string name : {"a", "b", "c"})
      daemons.push_back(std::make_unique<herd_process>(
        std::vector<std::string>{"node", "--topology", topology, "--name", name},
        dir.file("node-" + name + ".log")));
    for (auto& d : daemons)
      REQUIRE(d->wait_for_output("listening on", 20s));
  }

  /// The cluster example with `changes` merged in, written to the temp dir.
  std::string job(const json& changes) {
    std::ifstream in{std::string(HERD_EXAMPLES_DIR) + "/cluster/fashion_mnist.json"};
    auto j = json::parse(in);
    if (changes.is_object())
      j.merge_patch(changes);
    auto path = dir.file("job.json");
    std::ofstream{path} << j.dump(1);
    return path;
  }

  /// The cluster example as 2 replicas of 2 pipeline stages (M = 4): replica 0's stages on b
  /// and c, replica 1's on c and a; `changes` merged in after.
  std::string pipeline_job(const json& changes = json::object()) {
    json workers = json::array();
    for (auto node : {"b", "c", "c", "a"})
      workers.push_back({{"node", node}, {"device", "cpu"}});
    json j{{"parallelism", {{"pipeline_stages", 2}, {"micro_batches", 4}}}, {"workers", workers}};
    j.merge_patch(changes);
    return job(j);
  }
};

// Prints the log lines matching `pattern` (recovery times, clocks lost) into the test output.
void report(const std::string& out, const std::string& pattern) {
  std::regex re{pattern};
  std::istringstream in{out};
  for (std::string line; std::getline(in, line);)
    if (std::regex_search(line, re))
      WARN(line);
}

double final_accuracy(const std::string& out) {
  std::smatch m;
  return std::regex_search(out, m, std::regex{R"(final test accuracy ([0-9.]+)%)"})
           ? std::stod(m[1])
           : -1;
}

// The samples the job trained, from the final line (-1: none).
long long samples_trained(const std::string& out) {
  std::smatch m;
  return std::regex_search(out, m, std::regex{R"(after [0-9]+ steps, ([0-9]+) samples)"})
           ? std::stoll(m[1])
           : -1;
}

// Runs `job` (checkpoints every 200 clocks) on `c`, SIGKILLs node b (shard 1) once the
// checkpoint at clock 400 is written, and checks that the job rolled back and recovered;
// returns the run's output.
std::string kill_shard_daemon_after_checkpoint(three_daemons& c, const std::string& job) {
  herd_process run{{"run", job, "--cluster", c.topology, "--output", c.dir.file("out")},
                   c.dir.file("run.log")};
  REQUIRE(run.wait_for_output("checkpoint at clock 400 written", 120s));
  c.daemons[1]->kill(SIGKILL);
  REQUIRE(run.wait(300s) == 0);
  auto out = run.output();
  INFO(out);
  CHECK(std::regex_search(
    out, std::regex{R"(shard 1 lost with node b .*; rolling the job back to the checkpoint at clock [0-9]+: [0-9]+ clock\(s\) lost)"}));
  CHECK(std::regex_search(out, std::regex{R"(recovered: every shard and worker runs again [0-9.]+ s after the loss)"}));
  report(out, "rolling|recovered|final test accuracy");
  return out;
}

} // namespace

TEST_CASE("faults: a worker's daemon killed mid-training, the worker restarts elsewhere",
          "[faults][slow]") {
  three_daemons c; // shards on a and b, workers 0 on b and 1 on c
  herd_process run{{"run", c.job({}), "--cluster", c.topology, "--output", c.dir.file("out")},
                   c.dir.file("run.log")};
  REQUIRE(run.wait_for_output("step 300 ", 90s));
  c.daemons[2]->kill(SIGKILL); // node c and worker 1 with it
  REQUIRE(run.wait(300s) == 0);
  auto out = run.output();
  INFO(out);
  CHECK(out.find("worker 1 failed") != std::string::npos);
  CHECK(std::regex_search(out, std::regex{R"(worker 1 restarted \(restart 1\) on node [ab])"}));
  CHECK(std::regex_search(out, std::regex{R"(worker 1 recovered: stepping again [0-9.]+ s)"}));
  // What worker 1 reported trained of its chunk is done, the rest redone: every sample of the
  // 6 epochs once, but for a step whose push was applied and whose report died with it.
  auto samples = samples_trained(out);
  CHECK(samples >= 360000);
  CHECK(samples <= 360000 + 64);
  CHECK(final_accuracy(out) >= 87.5);
  report(out, "restarted|recovered|final test accuracy");
}

TEST_CASE("faults: a killed daemon started again rejoins the job and takes an added worker",
          "[faults][slow]") {
  three_daemons c; // shards on a and b, workers 0 on b and 1 on c
  auto ctl = [&](std::vector<std::string> words, int* code) {
    std::vector<std::string> args{"ctl", "--topology", c.topology}; // via node a
    args.insert(args.end(), words.begin(), words.end());
    herd_process p{args, c.dir.file("ctl.log")};
    *code = p.wait(40s);
    return p.output();
  };
  // Long enough that it is stopped, not finished, once the checks are done.
  herd_process run{{"run", c.job({{"training", {{"epochs", 60}}}}), "--cluster", c.topology,
                    "--output", c.dir.file("out")},
                   c.dir.file("run.log")};
  REQUIRE(run.wait_for_output("step 200 ", 90s));
  c.daemons[2]->kill(SIGKILL); // node c and worker 1 with it
  REQUIRE(run.wait_for_output("worker 1 restarted", 60s));
  int code = 0;
  auto refused = ctl({"add-worker", "--node", "c"}, &code);
  CHECK(code != 0);
  CHECK_THAT(refused, Catch::Contains("node c is lost: its daemon does not answer"));
  c.daemons[2] = std::make_unique<herd_process>(
    std::vector<std::string>{"node", "--topology", c.topology, "--name", "c"},
    c.dir.file("node-c-again.log"));
  REQUIRE(c.daemons[2]->wait_for_output("listening on", 20s));
  REQUIRE(run.wait_for_output("node c rejoined the job", 30s));
  auto added = ctl({"add-worker", "--node", "c"}, &code);
  INFO(added);
  CHECK(code == 0);
  CHECK(std::regex_search(added, std::regex{R"(worker 2 added on node c)"}));
  CHECK(c.daemons[2]->wait_for_output("worker 2 started at clock", 30s));
  auto status = ctl({"status"}, &code);
  INFO(status);
  CHECK(std::regex_search(status, std::regex{R"(\nc +127\.0\.0\.1:[0-9]+ +yes)"}));
  ctl({"stop"}, &code);
  CHECK(run.wait(120s) == 0);
  auto out = run.output();
  INFO(out);
  // It trained until the stop: mid-chunk ("stopped"), or at the end of its chunk ("finished":
  // a worker that joins late may hold exactly one chunk, used up as the stop arrives).
  CHECK(std::regex_search(out, std::regex{R"(worker 2 (stopped|finished) at clock)"}));
  report(out, "lost|rejoined|added|final test accuracy");
}

TEST_CASE("faults: a frozen herd run (SIGSTOP) lets its daemons go after 20 s of silence",
          "[faults][slow]") {
  three_daemons c;
  herd_process run{{"run", c.job({}), "--cluster", c.topology, "--output", c.dir.file("out")},
                   c.dir.file("run.log")};
  REQUIRE(run.wait_for_output("step 100 ", 90s));
  auto t0 = std::chrono::steady_clock::now();
  run.kill(SIGSTOP); // no FIN, no RST: only the missing heartbeats tell
  for (auto& d : c.daemons)
    CHECK(d->wait_for_output("the job's supervisor is gone", 60s));
  auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(waited >= 15s); // not before the silence limit (20 s, heartbeats every second)
  WARN("daemons free " << std::chrono::duration<double>(waited).count() << " s after SIGSTOP");
  auto topo = json::parse(herd::test::file_text(c.topology));
  uint16_t port = topo["nodes"][0]["port"];
  herd_process ctl{{"ctl", "--connect", "127.0.0.1:" + std::to_string(port), "status"},
                   c.dir.file("ctl.log")};
  CHECK(ctl.wait(30s) == 0);
  CHECK(ctl.output().find("node a: no job running") != std::string::npos);
}

TEST_CASE("faults: a tensor-parallel worker's daemon killed, it restarts with new ranks",
          "[faults][slow]") {
  three_daemons c; // worker 1 and its two rank actors on c
  herd_process run{{"run", c.job({{"parallelism", {{"tensor_parallel", 2}}}}), "--cluster",
                    c.topology, "--output", c.dir.file("out")},
                   c.dir.file("run.log")};
  REQUIRE(run.wait_for_output("step 300 ", 90s));
  c.daemons[2]->kill(SIGKILL);
  REQUIRE(run.wait(300s) == 0);
  auto out = run.output();
  INFO(out);
  CHECK(std::regex_search(out, std::regex{R"(worker 1 restarted \(restart 1\) on node [ab])"}));
  CHECK(std::regex_search(out, std::regex{R"(worker 1 recovered: stepping again [0-9.]+ s)"}));
  CHECK(final_accuracy(out) >= 87.5);
  report(out, "restarted|recovered|final test accuracy");
}

TEST_CASE("faults: a daemon holding two pipeline stages killed, both replicas restart",
          "[faults][slow]") {
  three_daemons c; // shards on a and b; replica 0 = stages on b, c; replica 1 = on c, a
  auto job = c.pipeline_job();
  herd_process run{{"run", job, "--cluster", c.topology, "--output", c.dir.file("out")},
                   c.dir.file("run.log")};
  REQUIRE(run.wait_for_output("step 300 ", 90s));
  c.daemons[2]->kill(SIGKILL); // node c: replica 0's stage 1 and replica 1's stage 0
  REQUIRE(run.wait(300s) == 0);
  auto out = run.output();
  INFO(out);
  CHECK(out.find("stage 1 of replica 0 (worker 1) failed") != std::string::npos);
  CHECK(out.find("stage 0 of replica 1 (worker 2) failed") != std::string::npos);
  CHECK(std::regex_search(out, std::regex{R"(replica 0 restarted; its stages join at clock)"}));
  CHECK(std::regex_search(out, std::regex{R"(replica 1 restarted; its stages join at clock)"}));
  CHECK(std::regex_search(out, std::regex{R"(worker [0-3] recovered: stepping again [0-9.]+ s)"}));
  // Every sample of the 6 epochs trained once: uncommitted minibatches were redone.
  CHECK(out.find("360000 samples") != std::string::npos);
  CHECK(final_accuracy(out) >= 87.5);
  report(out, "failed|restarted|recovered|final test accuracy");
}

TEST_CASE("faults: the supervisor's process killed, the job resumes from its last checkpoint",
          "[faults][slow]") {
  three_daemons c;
  auto job = c.job({{"checkpoint", {{"every", 200}, {"keep", 2}}}});
  auto ckpts = c.dir.file("out") + "/checkpoints";
  {
    herd_process run{{"run", job, "--cluster", c.topology, "--output", c.dir.file("out")},
                     c.dir.file("run.log")};
    REQUIRE(run.wait_for_output("checkpoint at clock 400 written", 120s));
    run.kill(SIGKILL);
  }
  // The daemons stay up and take the resumed job.
  for (auto& d : c.daemons)
    CHECK(d->wait(0ms) == -1);
  herd_process resumed{{"run", job, "--cluster", c.topology, "--output", c.dir.file("out2"),
                        "--resume", ckpts},
                       c.dir.file("resumed.log")};
  REQUIRE(resumed.wait(300s) == 0);
  auto out = resumed.output();
  INFO(out);
  std::smatch m;
  REQUIRE(std::regex_search(
    out, m,
    std::regex{R"(resuming from the checkpoint at clock (\d+): test accuracy ([0-9.]+)% \(recorded when it was taken: ([0-9.]+)%\))"}));
  CHECK(std::stoi(m[1]) >= 400);
  CHECK(m[2] == m[3]); // the restored parameters score what the saved ones did
  // The workers held between two chunks (every 200 clocks, 8 batches a chunk): they finish,
  // and every sample is trained once.
  CHECK(samples_trained(out) == 360000);
  CHECK(out.find(" left at clock") == std::string::npos);
  CHECK(final_accuracy(out) >= 88.0);
  report(out, "resuming from|final test accuracy");
}

TEST_CASE("faults: the daemon holding a shard killed, the job rolls back to its checkpoint",
          "[faults][slow]") {
  three_daemons c; // shard 1 and worker 0 on b
  auto job = c.job({{"checkpoint", {{"every", 200}, {"keep", 2}}}});
  auto out = kill_shard_daemon_after_checkpoint(c, job);
  INFO(out);
  CHECK(samples_trained(out) == 360000);
  CHECK(out.find(" left at clock") == std::string::npos);
  CHECK(final_accuracy(out) >= 87.5);
}

TEST_CASE("faults: every daemon killed after a checkpoint, herd run fails at once, naming it",
          "[faults]") {
  three_daemons c;
  auto job = c.job({{"checkpoint", {{"every", 200}, {"keep", 2}}}});
  herd_process run{{"run", job, "--cluster", c.topology, "--output", c.dir.file("out")},
                   c.dir.file("run.log")};
  REQUIRE(run.wait_for_output("checkpoint at clock 200 written", 120s));
  for (auto& d : c.daemons)
    d->kill(SIGKILL);
  // It used to wait 5 minutes for a spawn request to a node that was already gone.
  auto t0 = std::chrono::steady_clock::now();
  CHECK(run.wait(60s) == 1);
  CHECK(std::chrono::steady_clock::now() - t0 < 30s);
  auto out = run.output();
  INFO(out);
  CHECK(std::regex_search(out, std::regex{R"(herd: job failed: (node [abc] lost while the job's )"
                                          R"(shards were being placed on it|every node of the )"
                                          R"(job is lost|no live node for the shards))"}));
}

TEST_CASE("faults: a pipeline job's shard daemon killed, the job rolls back to its checkpoint",
          "[faults][slow]") {
  three_daemons c; // shards on a and b; replica 0 = stages on b, c; replica 1 = on c, a
  auto job = c.pipeline_job({{"checkpoint", {{"every", 200}, {"keep", 2}}}});
  auto out = kill_shard_daemon_after_checkpoint(c, job); // node b: replica 0's stage 0 too
  INFO(out);
  // The data from the checkpoint on, once: every sample of the 6 epochs trained once.
  CHECK(out.find("360000 samples") != std::string::npos);
  CHECK(final_accuracy(out) >= 87.5);
}

namespace {

// A TCP connection to 127.0.0.1:`port` (-1 when it cannot be made).
int connect_tcp(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

} // namespace

TEST_CASE("faults: random bytes and a half-open connection to a daemon's port change nothing",
          "[faults][slow]") {
  three_daemons c;
  herd_process run{{"run", c.job({}), "--cluster", c.topology, "--output", c.dir.file("out")},
                   c.dir.file("run.log")};
  REQUIRE(run.wait_for_output("step 200 ", 90s));
  auto topo = json::parse(herd::test::file_text(c.topology));
  uint16_t port = topo["nodes"][0]["port"]; // node a: shard 0
  int idle = connect_tcp(port);             // opened, never speaks
  REQUIRE(idle >= 0);
  int noisy = connect_tcp(port);
  REQUIRE(noisy >= 0);
  std::mt19937 rng{7};
  std::vector<char> junk(1 << 20);
  for (auto& b : junk)
    b = static_cast<char>(rng());
  size_t sent = 0;
  while (sent < junk.size()) {
    auto n = ::send(noisy, junk.data() + sent, junk.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      break; // the daemon closed it: that is the point
    sent += static_cast<size_t>(n);
  }
  ::close(noisy);
  REQUIRE(run.wait(300s) == 0);
  auto out = run.output();
  INFO(out);
  CHECK(final_accuracy(out) >= 88.0);
  ::close(idle);
  // The daemon itself still answers.
  herd_process ctl{{"ctl", "--connect", "127.0.0.1:" + std::to_string(port), "status"},
                   c.dir.file("ctl.log")};
  CHECK(ctl.wait(30s) == 0);
  CHECK(ctl.output().find("node a: no job running") != std::string::npos);
}
