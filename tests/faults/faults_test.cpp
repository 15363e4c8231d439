// Faults with real processes: a worker's daemon SIGKILLed mid-training (the worker restarts on
// a surviving node), the supervisor's process SIGKILLed and the job resumed from its last
// checkpoint on the same, still running, daemons.
#include <catch2/catch.hpp>

#include <regex>

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
};

double final_accuracy(const std::string& out) {
  std::smatch m;
  return std::regex_search(out, m, std::regex{R"(final test accuracy ([0-9.]+)%)"})
           ? std::stod(m[1])
           : -1;
}

} // namespace

TEST_CASE("faults: a worker's daemon killed mid-training; the worker restarts elsewhere",
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
  CHECK(final_accuracy(out) >= 87.5);
}

TEST_CASE("faults: the supervisor's process killed; the job resumes from its last checkpoint",
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
  CHECK(final_accuracy(out) >= 88.0);
}

TEST_CASE("faults: the daemon holding a shard killed; the job rolls back to its checkpoint",
          "[faults][slow]") {
  three_daemons c; // shard 1 and worker 0 on b
  auto job = c.job({{"checkpoint", {{"every", 200}, {"keep", 2}}}});
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
  CHECK(final_accuracy(out) >= 87.5);
}
