// The protocol handshake: a node answers `hello` with its protocol version and refuses a peer
// of another; a peer that answers with another version is refused by the one connecting. The
// one connecting checks the node's name too, and refuses to wait on its own process.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <functional>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/node.hpp"
#include "actors/remote.hpp"
#include "actors/system_config.hpp"
#include "messages/atoms.hpp"
#include "messages/specs.hpp"
#include "tests/cluster/processes.hpp"
#include "tests/temp_dir.hpp"

#ifndef HERD_EXAMPLES_DIR
#error "HERD_EXAMPLES_DIR must name the examples directory"
#endif

using namespace herd;
using namespace std::chrono_literals;

namespace {

struct network_system {
  actors::system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  network_system() {
    REQUIRE_FALSE(actors::enable_network(cfg, {}));
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

// A peer from the future: it says it speaks protocol 99.
caf::behavior future_node() {
  return {[](hello_atom, uint32_t) { return uint32_t{99}; }};
}

caf::actor spawn_named_node(caf::actor_system& sys, const std::string& name,
                            std::function<void(const std::string&)> on_log = nullptr) {
  actors::node_setup setup;
  setup.name = name;
  setup.codecs = std::make_shared<kernels::compress::codec_registry>(
    kernels::compress::default_codecs());
  setup.on_log = std::move(on_log);
  return actors::spawn_node(sys, setup);
}

// Node `name` in `sys`, published on a free loopback port: the actor and "127.0.0.1:PORT".
std::pair<caf::actor, std::string> published_node(caf::actor_system& sys,
                                                  const std::string& name) {
  auto node = spawn_named_node(sys, name);
  auto port = actors::publish_actor(sys, node, 0, "127.0.0.1", false);
  REQUIRE(port);
  return {node, "127.0.0.1:" + std::to_string(*port)};
}

uint16_t port_of(const std::string& where) {
  return uint16_t(std::stoul(where.substr(where.rfind(':') + 1)));
}

std::string topology_json(const std::vector<std::pair<std::string, uint16_t>>& nodes) {
  std::string out;
  for (const auto& [name, port] : nodes)
    out += std::string(out.empty() ? "" : ",") + R"({"name": ")" + name
           + R"(", "host": "127.0.0.1", "port": )" + std::to_string(port) + "}";
  return R"({"connect_timeout_s": 10, "nodes": [)" + out + "]}";
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream{path, std::ios::binary | std::ios::trunc} << text;
}

} // namespace

TEST_CASE("handshake: same protocol passes, another is refused naming both versions",
          "[integration]") {
  network_system server;
  auto node = spawn_named_node(*server.sys, "a");
  auto future = server.sys->spawn(future_node);
  auto node_port = actors::publish_actor(*server.sys, node, 0, "127.0.0.1", false);
  auto future_port = actors::publish_actor(*server.sys, future, 0, "127.0.0.1", false);
  REQUIRE(node_port);
  REQUIRE(future_port);

  network_system client;
  auto to_node = actors::connect_actor(*client.sys, "127.0.0.1", *node_port, false);
  REQUIRE(to_node);
  CHECK_FALSE(actors::handshake(*client.sys, *to_node));

  auto to_future = actors::connect_actor(*client.sys, "127.0.0.1", *future_port, false);
  REQUIRE(to_future);
  auto err = actors::handshake(*client.sys, *to_future);
  REQUIRE(err);
  const auto ours = std::to_string(messages::protocol_version);
  CHECK(describe(err).find("the peer speaks herd protocol 99, this is " + ours)
        != std::string::npos);

  // The node refuses a client of another version.
  caf::scoped_actor self{*client.sys};
  std::string refused;
  const uint32_t other = messages::protocol_version + 1;
  self->request(*to_node, 10s, hello_atom::value, other)
    .receive([](uint32_t) {}, [&](caf::error& e) { refused = describe(e); });
  CHECK(refused.find("node a speaks herd protocol " + ours + ", the peer "
                     + std::to_string(other))
        != std::string::npos);

  caf::anon_send_exit(node, caf::exit_reason::kill);
  caf::anon_send_exit(future, caf::exit_reason::kill);
}

TEST_CASE("handshake: a node's name is checked, and a node of this process refused at once",
          "[integration]") {
  network_system server;
  auto [node, where] = published_node(*server.sys, "c");

  network_system client;
  auto to_node = actors::connect_actor(*client.sys, "127.0.0.1", port_of(where), false);
  REQUIRE(to_node);
  CHECK_FALSE(actors::check_node_name(*client.sys, *to_node, where, "c"));
  auto wrong = actors::check_node_name(*client.sys, *to_node, where, "b");
  CHECK(describe(wrong) == "the daemon at " + where + " is node c; the topology names it b");

  // A node dialling its own address (another node's in the topology) waited on itself.
  auto to_self = actors::connect_actor(*server.sys, "127.0.0.1", port_of(where), false);
  REQUIRE(to_self);
  auto began = std::chrono::steady_clock::now();
  auto err = actors::handshake(*server.sys, *to_self, 30s);
  CHECK(std::chrono::steady_clock::now() - began < 5s);
  CHECK(describe(err).find("the address is this node's own") != std::string::npos);

  caf::anon_send_exit(node, caf::exit_reason::kill);
}

TEST_CASE("handshake: a node asked to attach checks its peers' names, and says why it refused",
          "[integration]") {
  network_system server;
  auto [c, where] = published_node(*server.sys, "c");
  // Node b, told that its peer a is at c's address (a sender other than herd run, which checks
  // every name before it attaches anything).
  network_system other;
  std::vector<std::string> logged;
  std::mutex logged_mutex;
  auto b = spawn_named_node(*other.sys, "b", [&](const std::string& line) {
    std::lock_guard lock{logged_mutex};
    logged.push_back(line);
  });
  std::string job = R"({"name": "peers", "model": {"layers": [784, 10]},
    "nodes": [{"name": "a"}, {"name": "b"}], "shards": [{"node": "a"}],
    "workers": [{"node": "a"}]})";
  auto sup = other.sys->spawn([](caf::event_based_actor*) { return caf::behavior{[](int) {}}; });
  caf::scoped_actor self{*other.sys};
  std::string refusal;
  self->request(b, 60s, attach_atom::value, sup, job,
                std::vector<messages::peer>{{"a", "127.0.0.1", port_of(where)}})
    .receive([](bool) {}, [&](caf::error& err) { refusal = describe(err); });
  auto expected = "node b: the daemon at " + where + " is node c; the topology names it a";
  CHECK(refusal == expected);
  std::lock_guard lock{logged_mutex};
  CHECK(std::find(logged.begin(), logged.end(), "job refused: " + expected) != logged.end());
  caf::anon_send_exit(b, caf::exit_reason::kill);
  caf::anon_send_exit(sup, caf::exit_reason::kill);
  caf::anon_send_exit(c, caf::exit_reason::kill);
}

// Three daemons a, b, c; `herd run` with topologies that put them at each other's addresses.
TEST_CASE("handshake: a daemon at another node's address fails herd run and ctl at once, naming "
          "both",
          "[integration]") {
  using herd::test::herd_process;
  herd::test::temp_dir dir;
  std::vector<uint16_t> ports;
  for (int i = 0; i < 3; ++i)
    ports.push_back(herd::test::free_port());
  auto right = dir.file("right.json");
  auto swapped = dir.file("swapped.json");
  auto misnamed = dir.file("misnamed.json");
  write_file(right, topology_json({{"a", ports[0]}, {"b", ports[1]}, {"c", ports[2]}}));
  write_file(swapped, topology_json({{"a", ports[0]}, {"b", ports[2]}, {"c", ports[1]}}));
  write_file(misnamed, topology_json({{"a", ports[0]}, {"c", ports[1]}}));
  std::vector<std::unique_ptr<herd_process>> daemons;
  for (std::string name : {"a", "b", "c"})
    daemons.push_back(std::make_unique<herd_process>(
      std::vector<std::string>{"node", "--topology", right, "--name", name},
      dir.file("node-" + name + ".log")));
  for (auto& d : daemons)
    REQUIRE(d->wait_for_output("listening on", 20s));
  auto address = [&](int i) { return "127.0.0.1:" + std::to_string(ports[i]); };

  // One epoch of 3000 samples: the correct job after a refused one trains.
  auto job = dir.file("job.json");
  auto text = herd::test::file_text(std::string(HERD_EXAMPLES_DIR)
                                    + "/cluster/fashion_mnist.json");
  auto at = text.find("\"normalize\"");
  REQUIRE(at != std::string::npos);
  text.insert(at, "\"train_limit\": 3000, \"test_limit\": 1000, ");
  at = text.find("\"epochs\": 6");
  REQUIRE(at != std::string::npos);
  text.replace(at, 11, "\"epochs\": 1");
  write_file(job, text);
  auto run = [&](const std::string& topology, const std::string& log) {
    return std::make_unique<herd_process>(
      std::vector<std::string>{"run", job, "--cluster", topology, "--output", dir.file(log)},
      dir.file(log + ".log"));
  };

  // b and c swapped: the job hung 2 min on a node dialling itself as b, then failed.
  auto first = run(swapped, "swapped");
  REQUIRE(first->wait(20s) == 1);
  CHECK(first->output().find("herd: the daemon at " + address(2)
                             + " is node c; the topology names it b\n")
        != std::string::npos);

  // The daemons were not attached to it: the next job, with the right topology, trains.
  auto second = run(right, "right");
  CHECK(second->wait(180s) == 0);
  CHECK(second->output().find("final test") != std::string::npos);

  // b's daemon replaced by a second c at b's address: no output and no end, before.
  daemons[1]->kill();
  daemons[1] = std::make_unique<herd_process>(
    std::vector<std::string>{"node", "--topology", misnamed, "--name", "c"},
    dir.file("node-c2.log"));
  REQUIRE(daemons[1]->wait_for_output("listening on", 20s));
  auto third = run(right, "misnamed");
  REQUIRE(third->wait(20s) == 1);
  CHECK(third->output().find("herd: the daemon at " + address(1)
                             + " is node c; the topology names it b\n")
        != std::string::npos);
  CHECK(daemons[1]->output().find("attached") == std::string::npos);

  // herd ctl --topology dials the topology's first node: the same check, the same line.
  auto swapped_first = dir.file("swapped-first.json");
  write_file(swapped_first, topology_json({{"b", ports[0]}, {"a", ports[2]}}));
  herd_process ctl{{"ctl", "--topology", swapped_first, "status"}, dir.file("ctl.log")};
  REQUIRE(ctl.wait(20s) == 1);
  CHECK(ctl.output()
        == "herd: the daemon at " + address(0) + " is node a; the topology names it b\n");
}
