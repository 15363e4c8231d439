// Topology files: names a TLS cluster may not give a node, and a directory given as the file.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "config/topology.hpp"
#include "messages/errc.hpp"

using namespace herd;

namespace {

std::string two_nodes(const std::string& second, bool tls) {
  return R"({"nodes": [{"name": "a", "host": "127.0.0.1", "port": 7001},
                       {"name": ")" + second + R"(", "host": "127.0.0.1", "port": 7002}])"
         + (tls ? R"(, "tls": {"ca": "ca.pem", "certificate": "{name}.pem", "key": "{name}.key"})"
                : "")
         + "}";
}

} // namespace

TEST_CASE("topology: with TLS no node is named ca or client, whose files are not a node's",
          "[config]") {
  for (std::string name : {"ca", "client"}) {
    auto t = config::parse_topology(two_nodes(name, true), "/etc/herd");
    REQUIRE_FALSE(t);
    CHECK(describe(t.error())
          == "/nodes/1/name: expected a name other than \"ca\" and \"client\" with TLS (their "
             "files are the CA's and herd run's), got \"" + name + "\"");
    CHECK(config::parse_topology(two_nodes(name, false), "/etc/herd")); // no files: any name
  }
  CHECK(config::parse_topology(two_nodes("x_y", true), "/etc/herd"));
}

TEST_CASE("topology: a directory given as the topology file is named as one", "[config]") {
  auto dir = std::filesystem::temp_directory_path().string();
  auto t = config::load_topology(dir);
  REQUIRE_FALSE(t);
  CHECK(describe(t.error()) == dir + ": is a directory, expected a topology file");
}
