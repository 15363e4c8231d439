// The protocol handshake: a node answers `hello` with its protocol version and refuses a peer
// of another; a peer that answers with another version is refused by the one connecting.
#include <catch2/catch.hpp>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/node.hpp"
#include "actors/remote.hpp"
#include "actors/system_config.hpp"
#include "messages/atoms.hpp"
#include "messages/specs.hpp"

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

} // namespace

TEST_CASE("handshake: same protocol passes, another is refused naming both versions",
          "[integration]") {
  network_system server;
  actors::node_setup setup;
  setup.name = "a";
  setup.codecs = std::make_shared<kernels::compress::codec_registry>(
    kernels::compress::default_codecs());
  auto node = actors::spawn_node(*server.sys, setup);
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
