// herd ctl one-shot commands against a node daemon with no job: "status --json" as at the
// prompt, and a command's name checked before the node is asked.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "tests/cluster/processes.hpp"

using namespace herd::apps::test;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

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
  // A known command still reaches the node, which says it has no job.
  auto stop = ctl({"stop"});
  CHECK(stop.code == exit_bad_input);
  CHECK_THAT(stop.err, Contains("no job is running on node a"));
}

TEST_CASE("herd ctl: an unknown command is refused without a node to ask", "[apps][integration]") {
  temp_dir dir;
  auto r = run_herd({"ctl", "--connect", "127.0.0.1:1", "frobnicate"}, dir);
  CHECK(r.code == exit_bad_input);
  REQUIRE(r.err_lines().size() == 1);
  CHECK_THAT(r.err, Contains("unknown command 'frobnicate'"));
}
