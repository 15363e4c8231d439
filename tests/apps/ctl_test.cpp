// herd ctl one-shot commands against a node daemon with no job: "status --json" as at the
// prompt, and a command's name and arguments checked before the node is asked.
#include <catch2/catch.hpp>

#include <chrono>
#include <regex>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "tests/cluster/processes.hpp"

using namespace herd::apps::test;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

constexpr int exit_failed = 1;

TEST_CASE("herd ctl: one-shot status takes --json after the command, and names are checked "
          "before the node is asked",
          "[apps][integration]") {
  temp_dir dir;
  auto port = herd::test::free_port();
  auto topology = dir.file("cluster.json");
  write_text(topology, R"({"nodes": [{"name": "a", "host": "127.0.0.1", "port": )"
                         + std::to_string(port) + "}]}");
  herd::test::herd_process node{{"node", "--topology", topology, "--name", "a"},
                                dir.file("node.log")};
  REQUIRE(node.wait_for_output("listening on", 20s));
  auto address = "127.0.0.1:" + std::to_string(port);
  auto ctl = [&](std::vector<std::string> words) {
    words.insert(words.begin(), {"ctl", "--connect", address});
    return run_herd(words, dir);
  };

  auto json_after = ctl({"status", "--json"});
  INFO(json_after.err);
  CHECK(json_after.code == exit_ok);
  CHECK(json_after.out == "{\"job\":false,\"node\":\"a\",\"shards\":0,\"workers\":0}\n");
  CHECK(ctl({"--json", "status"}).out == json_after.out);
  auto table = ctl({"status"});
  CHECK(table.code == exit_ok);
  CHECK_THAT(table.out, Contains("node a: no job running"));

  auto unknown = ctl({"frobnicate"});
  CHECK(unknown.code == exit_bad_input);
  CHECK(unknown.err_lines().size() == 1);
  CHECK_THAT(unknown.err, Contains("unknown command 'frobnicate'"));
  auto extra = ctl({"status", "--bogus"});
  CHECK(extra.code == exit_bad_input);
  CHECK_THAT(extra.err, Contains("status takes no arguments but --json"));
  // Arguments are checked here too: the same typo gets the same answer with or without a job.
  auto model = ctl({"set-consistency", "bogus"});
  CHECK(model.code == exit_bad_input);
  CHECK(model.err == "herd: set-consistency: unknown consistency model 'bogus' (bsp, ssp, asp)\n");
  auto staleness = ctl({"set-consistency", "ssp", "--staleness", "x"});
  CHECK(staleness.code == exit_bad_input);
  CHECK_THAT(staleness.err,
             Contains("--staleness: expected a non-negative integer up to 2147483647, got 'x'"));
  // A job file takes at most an int; so does ctl (it took 99999999999 and ran ssp with it).
  auto huge = ctl({"set-consistency", "ssp", "--staleness", "99999999999"});
  CHECK(huge.code == exit_bad_input);
  CHECK_THAT(huge.err, Contains("up to 2147483647, got '99999999999'"));
  auto id = ctl({"remove-worker", "abc"});
  CHECK(id.code == exit_bad_input);
  CHECK_THAT(id.err, Contains("expected a worker id as a non-negative integer, got 'abc'"));
  // A well-formed command reaches the node, which cannot do it without a job: a failed command.
  auto stop = ctl({"stop"});
  CHECK(stop.code == exit_failed);
  CHECK(stop.err_lines().size() == 1);
  CHECK_THAT(stop.err, Contains("no job is running on node a"));
  CHECK(ctl({"set-consistency", "ssp", "--staleness", "2"}).code == exit_failed);
}

TEST_CASE("herd ctl: every command's arguments are checked without a node to ask",
          "[apps][integration]") {
  temp_dir dir;
  auto ctl = [&](std::vector<std::string> words) {
    words.insert(words.begin(), {"ctl", "--connect", "127.0.0.1:1"});
    return run_herd(words, dir);
  };
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
    {{"set-consistency", "bogus"}, "unknown consistency model 'bogus'"},
    {{"set-consistency"}, "usage: set-consistency bsp|ssp|asp [--staleness S]"},
    {{"set-consistency", "ssp", "--staleness"}, "--staleness needs a value"},
    {{"set-consistency", "ssp", "--stale", "2"}, "unknown option '--stale'"},
    {{"set-consistency", "ssp", "--staleness", "-1"}, "got '-1'"},
    {{"set-consistency", "asp", "--staleness", "2"}, "--staleness is for ssp only (asp has"},
    {{"set-consistency", "bsp", "--staleness", "0"}, "--staleness is for ssp only (bsp has"},
    {{"remove-worker", "abc"}, "got 'abc'"},
    {{"remove-worker"}, "usage: remove-worker ID"},
    {{"add-worker"}, "add-worker: --node NAME is required"},
    {{"add-worker", "--node", "a", "--device", "gpu"}, "expected cpu or cuda:N"},
    // An option given twice is refused, not the last one taken.
    {{"add-worker", "--node", "a", "--node", "c"}, "add-worker: --node given twice"},
    {{"add-worker", "--node", "a", "--device", "cpu", "--device", "cuda:0"},
     "add-worker: --device given twice"},
    {{"set-consistency", "ssp", "--staleness", "2", "--staleness", "5"},
     "set-consistency: --staleness given twice"},
    {{"checkpoint", "now"}, "checkpoint takes no arguments"},
    {{"stop", "now"}, "stop takes no arguments"},
  };
  for (const auto& [words, what] : cases) {
    auto r = ctl(words);
    INFO(words[0] << ": " << r.err);
    CHECK(r.code == exit_bad_input);
    CHECK(r.err_lines().size() == 1);
    CHECK_THAT(r.err, Contains(what));
  }
}

TEST_CASE("herd ctl: an unknown command is refused without a node to ask", "[apps][integration]") {
  temp_dir dir;
  auto r = run_herd({"ctl", "--connect", "127.0.0.1:1", "frobnicate"}, dir);
  CHECK(r.code == exit_bad_input);
  REQUIRE(r.err_lines().size() == 1);
  CHECK_THAT(r.err, Contains("unknown command 'frobnicate'"));
}

TEST_CASE("herd ctl: with --topology it waits for a node as long as connect_timeout_s says",
          "[apps][integration]") {
  temp_dir dir;
  auto topology = dir.file("cluster.json");
  auto port = herd::test::free_port(); // nothing listens there
  write_text(topology, R"({"nodes": [{"name": "a", "host": "127.0.0.1", "port": )"
                         + std::to_string(port) + R"(}], "connect_timeout_s": 1})");
  auto r = run_herd({"ctl", "--topology", topology, "status"}, dir);
  CHECK(r.code == exit_failed);
  std::smatch m;
  REQUIRE(std::regex_search(r.err, m, std::regex{R"(gave up after \d+ attempts in (\d+) ms)"}));
  auto waited = std::stoi(m[1]);
  CHECK(waited >= 1000);
  CHECK(waited < 3000); // ctl's own default is 5 s
}

TEST_CASE("herd ctl: help and COMMAND --help print the commands' arguments without a node",
          "[apps][integration]") {
  temp_dir dir;
  auto help = run_herd({"ctl", "help"}, dir);
  INFO(help.err);
  CHECK(help.code == exit_ok);
  CHECK(help.err.empty());
  // The prompt's help text: each command with its arguments.
  CHECK_THAT(help.out, Contains("add-worker --node NAME [--device cpu|cuda:N]"));
  CHECK_THAT(help.out, Contains("remove-worker ID"));
  CHECK_THAT(help.out, Contains("set-consistency bsp|ssp|asp [--staleness S]"));
  // After a command, with a --connect that nothing answers: still the help, exit 0.
  auto after = run_herd({"ctl", "--connect", "127.0.0.1:1", "add-worker", "--help"}, dir);
  CHECK(after.code == exit_ok);
  CHECK(after.out == help.out);
  CHECK(run_herd({"ctl", "set-consistency", "-h"}, dir).out == help.out);
  // herd ctl --help says where the arguments are.
  auto usage = run_herd({"ctl", "--help"}, dir);
  CHECK(usage.code == exit_ok);
  CHECK_THAT(usage.out, Contains("herd ctl help"));
}
