// Nodes in one process, each its own actor system, talking over loopback: TLS between nodes of
// one cluster CA, refusal of foreign and plain peers, plain networking, retries and timeouts.
// docs/notes-tls.md records what CAF 0.17 does in each case and how long it takes.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/remote.hpp"
#include "actors/system_config.hpp"
#include "messages/errc.hpp"
#include "tests/temp_dir.hpp"

using namespace herd;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

const std::string loopback = "127.0.0.1";

/// Two clusters: CA "a" with nodes n1 and n2, CA "b" with node n3.
struct certs {
  test::temp_dir a;
  test::temp_dir b;

  certs() {
    make(a, "n1 n2");
    make(b, "n3");
  }

  static void make(const test::temp_dir& dir, const std::string& nodes) {
    auto cmd = std::string{"bash "} + HERD_CERTS_SCRIPT + " " + dir.path().string() + " "
               + nodes + " > /dev/null";
    REQUIRE(std::system(cmd.c_str()) == 0);
  }

  static actors::tls_files node(const test::temp_dir& dir, const std::string& name) {
    return {dir.file("ca.pem"), dir.file(name + ".pem"), dir.file(name + ".key")};
  }
};

caf::behavior incrementer() {
  return {[](int x) { return x + 1; }, [](const std::vector<char>& v) { return v; }};
}

template <class T>
T value_of(caf::expected<T> x) {
  if (!x)
    FAIL(describe(x.error()));
  return std::move(*x);
}

/// One node: an actor system with the network enabled, and the actor it serves, if any.
struct node {
  actors::system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor served;

  explicit node(const actors::tls_files& tls) {
    auto err = actors::enable_network(cfg, tls);
    INFO(describe(err));
    REQUIRE(!err);
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  /// Without enable_network's checks: for files that do not fit together on purpose.
  struct unchecked {};
  node(const actors::tls_files& tls, unchecked) {
    cfg.load<caf::io::middleman>();
    cfg.load<caf::openssl::manager>();
    actors::apply_tls(cfg, tls);
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  // The system would wait for the published actor forever: end it first.
  ~node() {
    if (served)
      caf::anon_send_exit(served, caf::exit_reason::kill);
  }

  uint16_t serve(bool tls) {
    served = sys->spawn(incrementer);
    return value_of(actors::publish_actor(*sys, served, 0, loopback, tls));
  }

  caf::expected<caf::actor> connect(uint16_t port, bool tls) {
    return actors::connect_actor(*sys, loopback, port, tls, 4s);
  }

  /// The server's answer to 41 ("42"), or the error; waits at most 5 s.
  std::string ask(const caf::actor& server) {
    std::string out;
    caf::scoped_actor self{*sys};
    self->request(server, 5s, 41)
      .receive([&](int y) { out = std::to_string(y); },
               [&](caf::error& err) { out = sys->render(err); });
    return out;
  }
};

/// A refused connection: a herd network error naming the endpoint, well before the timeout.
void check_refused(const caf::expected<caf::actor>& res, uint16_t port,
                   clock_type::duration took) {
  REQUIRE(!res);
  INFO(describe(res.error()));
  CHECK(code_of(res.error()) == errc::network_error);
  CHECK(describe(res.error()).find(loopback + ":" + std::to_string(port)) != std::string::npos);
  CHECK(took < 3s);
}

/// A free loopback port, as the OS hands them out (nothing listens on it afterwards).
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  socklen_t len = sizeof(sa);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  ::close(fd);
  return ntohs(sa.sin_port);
}

/// A loopback listener that completes TCP connections and never says a word. Closing it resets
/// them, which is what lets a client's actor system shut down (see docs/notes-tls.md).
struct silent_listener {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  uint16_t port = 0;

  silent_listener() {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
    REQUIRE(::listen(fd, 8) == 0);
    socklen_t len = sizeof(sa);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
    port = ntohs(sa.sin_port);
  }

  ~silent_listener() {
    for (int c; (c = ::accept(fd, nullptr, nullptr)) >= 0;)
      ::close(c);
    ::close(fd);
  }
};

} // namespace

TEST_CASE("tls: a node of the same CA connects and gets replies", "[integration]") {
  certs c;
  node server{certs::node(c.a, "n1")};
  auto port = server.serve(true);
  node client{certs::node(c.a, "n2")};
  auto t0 = clock_type::now();
  auto srv = value_of(client.connect(port, true));
  CHECK(clock_type::now() - t0 < 3s);
  CHECK(client.ask(srv) == "42");
  // The same client again, over the connection it already has.
  CHECK(client.ask(value_of(client.connect(port, true))) == "42");
}

TEST_CASE("tls: a node with a certificate of another CA is refused, whichever side checks",
          "[integration][faults]") {
  certs c;
  node server{certs::node(c.a, "n1")};
  auto port = server.serve(true);
  struct variant {
    const char* what;
    actors::tls_files tls;
  };
  auto a = certs::node(c.a, "n2");
  auto b = certs::node(c.b, "n3");
  for (const auto& v : {variant{"other cluster: CA b, cert b", b},
                        // Trusts CA a, but the server must refuse the certificate from b.
                        variant{"server checks: CA a, cert b", {a.ca, b.certificate, b.key}},
                        // Has a good certificate, but must not trust the server signed by a.
                        variant{"client checks: CA b, cert a", {b.ca, a.certificate, a.key}}}) {
    INFO(v.what);
    node client{v.tls, node::unchecked{}};
    auto t0 = clock_type::now();
    auto res = client.connect(port, true);
    check_refused(res, port, clock_type::now() - t0);
  }
  node good{certs::node(c.a, "n2")};
  CHECK(good.ask(value_of(good.connect(port, true))) == "42");
}

TEST_CASE("tls: a plain client is refused and the server goes on serving",
          "[integration][faults]") {
  certs c;
  node server{certs::node(c.a, "n1")};
  auto port = server.serve(true);
  {
    node plain{{}};
    auto t0 = clock_type::now();
    auto res = plain.connect(port, false);
    check_refused(res, port, clock_type::now() - t0);
  }
  node good{certs::node(c.a, "n2")};
  CHECK(good.ask(value_of(good.connect(port, true))) == "42");
}

TEST_CASE("tls: a refused connection leaves the established ones working, large messages too",
          "[integration][faults]") {
  // CAF 0.17's openssl sessions do not clear OpenSSL's per-thread error queue before an I/O
  // call: a refused handshake left its error there, and the next read of a healthy connection
  // that had to wait for the rest of a record failed with it (a job lost a node to `herd ctl`).
  certs c;
  node server{certs::node(c.a, "n1")};
  auto port = server.serve(true);
  node good{certs::node(c.a, "n2")};
  auto srv = value_of(good.connect(port, true));
  REQUIRE(good.ask(srv) == "42");
  for (int round = 0; round < 3; ++round) {
    {
      node plain{{}};
      check_refused(plain.connect(port, false), port, 0s);
    }
    caf::scoped_actor self{*good.sys};
    std::vector<char> big(4 << 20, char(round)); // many TLS records: reads wait for the rest
    int answered = 0;
    for (int i = 0; i < 8; ++i)
      self->request(srv, 10s, big)
        .receive([&](const std::vector<char>& back) { answered += back == big ? 1 : 0; },
                 [&](caf::error& err) { FAIL_CHECK("round " << round << " request " << i
                                                   << ": " << good.sys->render(err)); });
    CHECK(answered == 8);
    CHECK(good.ask(srv) == "42");
  }
}

TEST_CASE("remote: without TLS plain publish and connect work, a TLS client is refused",
          "[integration]") {
  node server{{}};
  auto port = server.serve(false);
  node client{{}};
  CHECK(client.ask(value_of(client.connect(port, false))) == "42");
  certs c;
  node tls_client{certs::node(c.a, "n2")};
  auto t0 = clock_type::now();
  auto res = tls_client.connect(port, true);
  check_refused(res, port, clock_type::now() - t0);
}

TEST_CASE("remote: TLS is refused where no TLS files were given", "[integration]") {
  node plain{{}};
  auto served = plain.sys->spawn(incrementer);
  auto pub = actors::publish_actor(*plain.sys, served, 0, loopback, true);
  REQUIRE(!pub);
  CHECK(code_of(pub.error()) == errc::invalid_argument);
  auto con = actors::connect_with_retry(*plain.sys, loopback, 1, true, 5s);
  REQUIRE(!con);
  CHECK(code_of(con.error()) == errc::invalid_argument); // at once, no retries
  caf::anon_send_exit(served, caf::exit_reason::kill);
}

TEST_CASE("tls: enable_network checks the files before CAF would use them", "[config]") {
  certs c;
  auto n1 = certs::node(c.a, "n1");
  auto n3 = certs::node(c.b, "n3");
  auto garbage = c.a.file("garbage.pem");
  std::ofstream{garbage} << "not a certificate\n";
  struct bad {
    const char* what;
    actors::tls_files tls;
    errc code;
  };
  for (const auto& b :
       {bad{"ca only", {n1.ca, "", ""}, errc::config_invalid},
        bad{"missing key", {n1.ca, n1.certificate, c.a.file("nope.key")}, errc::file_not_found},
        bad{"garbage certificate", {n1.ca, garbage, n1.key}, errc::bad_format},
        bad{"key of another node", {n1.ca, n1.certificate, n3.key}, errc::config_invalid},
        bad{"certificate of another CA", {n1.ca, n3.certificate, n3.key},
            errc::config_invalid}}) {
    INFO(b.what);
    actors::system_config cfg;
    auto err = actors::enable_network(cfg, b.tls);
    INFO(describe(err));
    CHECK(code_of(err) == b.code);
  }
  actors::system_config cfg;
  REQUIRE(!actors::enable_network(cfg, n1));
  CHECK(cfg.openssl_cafile == n1.ca); // set() reached CAF's own fields
  CHECK(cfg.openssl_certificate == n1.certificate);
  CHECK(cfg.openssl_key == n1.key);
}

TEST_CASE("remote: connect_with_retry waits for a late server and gives up at the deadline",
          "[integration]") {
  node server{{}};
  node client{{}};
  SECTION("a server that starts 300 ms late is reached") {
    auto port = free_port();
    std::thread late{[&] {
      std::this_thread::sleep_for(300ms); // the scenario, not synchronisation
      server.served = server.sys->spawn(incrementer);
      actors::publish_actor(*server.sys, server.served, port, loopback, false);
    }};
    auto res = actors::connect_with_retry(*client.sys, loopback, port, false, 10s);
    late.join();
    CHECK(client.ask(value_of(std::move(res))) == "42");
  }
  SECTION("nothing listening: the last error after the deadline, naming the attempts") {
    auto port = free_port();
    auto t0 = clock_type::now();
    auto res = actors::connect_with_retry(*client.sys, loopback, port, false, 400ms);
    auto took = clock_type::now() - t0;
    REQUIRE(!res);
    auto text = describe(res.error());
    INFO(text);
    CHECK(code_of(res.error()) == errc::network_error);
    CHECK(text.find(loopback + ":" + std::to_string(port)) != std::string::npos);
    CHECK(text.find("gave up after") != std::string::npos);
    CHECK(took >= 400ms);
    CHECK(took < 2s);
  }
}

TEST_CASE("remote: a peer that accepts and stays silent times out instead of hanging",
          "[integration][faults]") {
  bool tls = GENERATE(false, true);
  INFO((tls ? "tls" : "plain"));
  certs c;
  node client{tls ? certs::node(c.a, "n2") : actors::tls_files{}};
  silent_listener peer; // destroyed before the client, which then can shut down
  auto t0 = clock_type::now();
  auto res = actors::connect_actor(*client.sys, loopback, peer.port, tls, 300ms);
  auto took = clock_type::now() - t0;
  REQUIRE(!res);
  INFO(describe(res.error()));
  CHECK(code_of(res.error()) == errc::timeout);
  CHECK(took < 2s);
}
