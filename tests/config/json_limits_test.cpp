// Limits on what a JSON file herd reads may hold: nesting depth, size, and U+0000 in paths.
// They apply to job, topology and experiment files alike (config/json_reader.cpp).
#include <catch2/catch.hpp>

#include <string>

#include "config/experiment_config.hpp"
#include "config/job_parse.hpp"
#include "config/topology.hpp"
#include "config_test_util.hpp"

using namespace herd;
using namespace herd::config::test;

namespace {

std::string brackets(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

const std::string too_deep = "malformed JSON: nested deeper than 64 arrays or objects at ";

} // namespace

TEST_CASE("json limits: nesting deeper than 64 is refused before parsing, naming line and column",
          "[config]") {
  CHECK(error_of(brackets(65), errc::config_syntax) == too_deep + "line 1, column 65");
  // 64 levels parse (and are then no job); the object counts as a level.
  CHECK(error_of(brackets(64)).rfind("/: expected an object", 0) == 0);
  CHECK(error_of("{\n \"deep\": " + brackets(64) + "}", errc::config_syntax)
        == too_deep + "line 2, column 73");
  // Brackets in strings are text, escaped quotes included.
  auto in_string = job_with(R"("name": "a\"[[[)" + std::string(70, '[') + "\"");
  CHECK(error_of(in_string).rfind("/name: expected a name", 0) == 0);
  // The QA file: 200 KB of brackets once took more than 5.8 GB.
  CHECK(error_of(brackets(100000), errc::config_syntax) == too_deep + "line 1, column 65");
}

TEST_CASE("json limits: topology and experiment files are held to the same depth", "[config]") {
  auto t = config::parse_topology(R"({"nodes": )" + brackets(70) + "}", "/etc/herd");
  REQUIRE_FALSE(t);
  CHECK(code_of(t.error()) == errc::config_syntax);
  CHECK(describe(t.error()) == too_deep + "line 1, column 74");
  auto e = config::parse_experiment(R"({"seeds": )" + brackets(70) + "}", "", "exp.json");
  REQUIRE_FALSE(e);
  CHECK(code_of(e.error()) == errc::config_syntax);
  CHECK(describe(e.error()) == "exp.json: " + too_deep + "line 1, column 74");
}

TEST_CASE("json limits: a file larger than 16 MiB is refused, not read to the end", "[config]") {
  auto job = config::load_job("/dev/zero");
  REQUIRE_FALSE(job);
  CHECK(code_of(job.error()) == errc::io_error);
  CHECK(describe(job.error()) == "/dev/zero: larger than 16 MiB, expected a job file");
  auto t = config::load_topology("/dev/zero");
  REQUIRE_FALSE(t);
  CHECK(describe(t.error()) == "/dev/zero: larger than 16 MiB, expected a topology file");
  auto e = config::load_experiment("/dev/zero");
  REQUIRE_FALSE(e);
  CHECK(describe(e.error()) == "/dev/zero: larger than 16 MiB, expected an experiment file");
}

TEST_CASE("json limits: a path holding U+0000 is refused, naming its JSON path", "[config]") {
  auto t = config::parse_topology(R"({"nodes": [{"name": "a"}],
      "tls": {"ca": "ca.pem", "certificate": "{name}.pem\u0000x", "key": "{name}.key"}})",
                                  "/etc/herd");
  REQUIRE_FALSE(t);
  CHECK(describe(t.error())
        == R"(/tls/certificate: expected a certificate path without NUL characters (U+0000), )"
           R"(got "{name}.pem\u0000x")");
  auto e = config::parse_experiment(R"({"job": "job.json\u0000.bak"})", "", "");
  REQUIRE_FALSE(e);
  CHECK(describe(e.error())
        == R"(/job: expected a job file path or a job object without NUL characters (U+0000), )"
           R"(got "job.json\u0000.bak")");
}
