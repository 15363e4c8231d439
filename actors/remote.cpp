#include "actors/remote.hpp"

#include <algorithm>
#include <fstream>
#include <memory>
#include <set>
#include <thread>
#include <utility>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <nlohmann/json.hpp>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/type_id.hpp>

#include "actors/tls_error_queue.hpp"
#include "messages/atoms.hpp"
#include "messages/specs.hpp"

#include "messages/errc.hpp"

namespace herd::actors {

namespace {

using std::chrono::milliseconds;

std::string endpoint(const std::string& host, uint16_t port) {
  return (host.empty() ? std::string{"*"} : host) + ":" + std::to_string(port);
}

/// OpenSSL's most recent error reason, and a cleared error queue.
std::string openssl_reason() {
  unsigned long code = 0;
  while (auto next = ERR_get_error())
    code = next;
  if (code == 0)
    return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

caf::error check_readable(const char* what, const std::string& path) {
  if (path.empty())
    return make_error(errc::config_invalid,
                      std::string{"TLS: no "} + what
                        + " file given (ca, certificate and key go together)");
  if (!std::ifstream{path})
    return make_error(errc::file_not_found, std::string{"TLS "} + what + " " + path
                                              + ": cannot open");
  return {};
}

/// Loads the files as CAF's openssl module will on the first connection, and checks that
/// this node's certificate chains to the CA, so that a mistake shows at start-up.
caf::error check_tls_files(const tls_files& tls) {
  for (auto [what, path] : {std::pair{"ca", &tls.ca}, std::pair{"certificate", &tls.certificate},
                            std::pair{"key", &tls.key}})
    if (auto err = check_readable(what, *path))
      return err;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_method()), SSL_CTX_free};
  if (!ctx)
    return make_error(errc::invalid_argument, "TLS: cannot make an OpenSSL context: "
                                                + openssl_reason());
  // Key first: a certificate loaded after it drops a key that does not match, quietly.
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key.c_str(), SSL_FILETYPE_PEM) != 1)
    return make_error(errc::bad_format, "TLS key " + tls.key + ": " + openssl_reason());
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.certificate.c_str()) != 1)
    return make_error(errc::bad_format, "TLS certificate " + tls.certificate + ": "
                                          + openssl_reason());
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return make_error(errc::config_invalid, "TLS key " + tls.key
                                              + " does not belong to certificate "
                                              + tls.certificate);
  }
  if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca.c_str(), nullptr) != 1)
    return make_error(errc::bad_format, "TLS ca " + tls.ca + ": " + openssl_reason());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> vctx{X509_STORE_CTX_new(),
                                                                       X509_STORE_CTX_free};
  if (!vctx || X509_STORE_CTX_init(vctx.get(), SSL_CTX_get_cert_store(ctx.get()),
                                   SSL_CTX_get0_certificate(ctx.get()), nullptr) != 1)
    return make_error(errc::invalid_argument, "TLS: cannot check the certificate: "
                                                + openssl_reason());
  if (X509_verify_cert(vctx.get()) != 1)
    return make_error(errc::config_invalid,
                      "TLS certificate " + tls.certificate + " does not verify against ca "
                        + tls.ca + ": "
                        + X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx.get())));
  return {};
}

/// The middleman actor that connects: the openssl module's for TLS, the plain one else.
caf::expected<caf::io::middleman_actor> connector(caf::actor_system& sys, bool tls,
                                                  const std::string& where) {
  if (tls) {
    if (!sys.has_openssl_manager() || !sys.openssl_manager().authentication_enabled())
      return make_error(errc::invalid_argument,
                        where + ": TLS requested, but this actor system has no TLS files"
                                " (enable_network with tls_files)");
    return sys.openssl_manager().actor_handle();
  }
  if (!sys.has_middleman())
    return make_error(errc::invalid_argument,
                      where + ": this actor system has no network (enable_network first)");
  return sys.middleman().actor_handle();
}

caf::error connect_error(caf::actor_system& sys, const caf::error& err, const std::string& where,
                         bool tls, milliseconds timeout) {
  auto caf_text = " (" + sys.render(err) + ")";
  if (err == caf::sec::request_timeout)
    return make_error(errc::timeout,
                      where + ": no answer within " + std::to_string(timeout.count()) + " ms"
                        + (tls ? "; the peer accepted but did not finish the TLS handshake" : ""));
  if (err == caf::sec::disconnect_during_handshake)
    return make_error(errc::network_error,
                      where
                        + (tls ? ": TLS handshake refused: this node and the peer do not trust "
                                 "each other's certificates (another cluster CA?), or the peer "
                                 "does not use TLS"
                               : ": the peer closed the connection during the handshake (does "
                                 "it require TLS?)")
                        + caf_text);
  if (err == caf::sec::cannot_connect_to_node)
    return make_error(errc::network_error,
                      where + ": cannot connect (nothing listening"
                        + (tls ? ", or the peer does not use TLS)" : ")") + caf_text);
  return make_error(errc::network_error, where + ": cannot connect" + caf_text);
}

} // namespace

bool tls_files::enabled() const {
  return !ca.empty() || !certificate.empty() || !key.empty();
}

void apply_tls(caf::actor_system_config& cfg, const tls_files& tls) {
  // set() stores into the bound openssl_* members too (checked by the tests).
  cfg.set("openssl.cafile", tls.ca);
  cfg.set("openssl.certificate", tls.certificate);
  cfg.set("openssl.key", tls.key);
}

caf::error enable_network(caf::actor_system_config& cfg, const tls_files& tls) {
  if (tls.enabled())
    if (auto err = check_tls_files(tls))
      return err;
  cfg.load<caf::io::middleman>();
  if (tls.enabled()) {
    if (!tls_error_queue_cleared()) // links actors/tls_error_queue.cpp, and checks it is used
      return make_error(errc::network_error, "TLS: libcaf_openssl's OpenSSL calls do not reach "
                                             "herd's (actors/tls_error_queue.cpp)");
    cfg.load<caf::openssl::manager>();
    apply_tls(cfg, tls);
  }
  return {};
}

caf::expected<uint16_t> publish_actor(caf::actor_system& sys, const caf::actor& whom,
                                      uint16_t port, const std::string& host, bool tls) {
  auto where = endpoint(host, port);
  auto mm = connector(sys, tls, where); // checks that the system can publish this way
  if (!mm)
    return std::move(mm.error());
  const char* in = host.empty() ? nullptr : host.c_str();
  auto res = tls ? caf::openssl::publish(whom, port, in, true)
                 : sys.middleman().publish(whom, port, in, true);
  if (res)
    return res;
  if (res.error() == caf::sec::cannot_open_port) // CAF's text: "tcp socket creation failed"
    return make_error(errc::network_error, where + ": cannot listen there: the port is in use, "
                                                   "or the address is not this machine's");
  return make_error(errc::network_error,
                    where + ": cannot publish (" + sys.render(res.error()) + ")");
}

caf::expected<caf::actor> connect_actor(caf::actor_system& sys, const std::string& host,
                                        uint16_t port, bool tls, milliseconds timeout) {
  auto where = endpoint(host, port);
  if (host.empty() || port == 0)
    return make_error(errc::invalid_argument, where + ": need a host and a port");
  auto mm = connector(sys, tls, where);
  if (!mm)
    return std::move(mm.error());
  caf::expected<caf::actor> out{make_error(errc::network_error, where + ": no reply")};
  caf::scoped_actor self{sys};
  self->request(*mm, timeout, caf::connect_atom::value, host, port)
    .receive(
      [&](caf::node_id&, caf::strong_actor_ptr& ptr, std::set<std::string>& ifs) {
        if (!ptr)
          out = make_error(errc::network_error, where + ": no actor is published there");
        else if (!ifs.empty())
          out = make_error(errc::invalid_argument,
                           where + ": the actor published there is typed; herd expects an "
                                   "untyped actor");
        else
          out = caf::actor_cast<caf::actor>(std::move(ptr));
      },
      [&](caf::error& err) { out = connect_error(sys, err, where, tls, timeout); });
  return out;
}

caf::expected<caf::actor> connect_with_retry(caf::actor_system& sys, const std::string& host,
                                             uint16_t port, bool tls, milliseconds deadline) {
  using clock = std::chrono::steady_clock;
  constexpr milliseconds max_attempt{5000};
  constexpr milliseconds max_backoff{1000};
  auto start = clock::now();
  auto end = start + deadline;
  // Rounded up: an attempt never ends before the deadline on account of rounding.
  auto left = [&] { return std::chrono::ceil<milliseconds>(end - clock::now()); };
  constexpr milliseconds short_attempt{100};
  milliseconds backoff{50};
  caf::error last;
  for (int attempts = 1;; ++attempts) {
    auto budget = std::clamp(left(), milliseconds{1}, max_attempt);
    auto res = connect_actor(sys, host, port, tls, budget);
    if (res)
      return res;
    auto code = code_of(res.error());
    if (code != errc::network_error && code != errc::timeout)
      return res; // wrong settings: retrying cannot help
    // A timeout of an attempt squeezed into the deadline's last few ms says less
    // than the error before it (usually "connection refused"): keep that one.
    if (!last || code != errc::timeout || budget >= short_attempt)
      last = res.error();
    if (clock::now() >= end) {
      auto took = std::chrono::duration_cast<milliseconds>(clock::now() - start);
      return make_error(code_of(last), describe(last) + " [gave up after "
                                         + std::to_string(attempts) + " attempts in "
                                         + std::to_string(took.count()) + " ms]");
    }
    std::this_thread::sleep_for(std::min<clock::duration>(backoff, end - clock::now()));
    backoff = std::min(backoff * 2, max_backoff);
  }
}

caf::error handshake(caf::actor_system& sys, const caf::actor& node,
                     std::chrono::milliseconds timeout) {
  if (node.node() == sys.node())
    return make_error(errc::config_invalid,
                      "the address is this node's own: the topology gives it to another node "
                      "too, or this daemon was started under another node's name");
  caf::scoped_actor self{sys};
  caf::error out;
  self->request(node, timeout, hello_atom::value, messages::protocol_version)
    .receive(
      [&](uint32_t theirs) {
        if (theirs != messages::protocol_version)
          out = make_error(errc::invalid_argument,
                           "the peer speaks herd protocol " + std::to_string(theirs)
                             + ", this is " + std::to_string(messages::protocol_version));
      },
      [&](caf::error& err) {
        out = code_of(err) == errc::invalid_argument
                ? err
                : make_error(errc::network_error,
                             "no protocol handshake from the peer: " + describe(err));
      });
  return out;
}

caf::error check_node_name(caf::actor_system& sys, const caf::actor& node,
                           const std::string& where, const std::string& expected,
                           std::chrono::milliseconds timeout) {
  caf::scoped_actor self{sys};
  caf::error out;
  self->request(node, timeout, status_atom::value)
    .receive(
      [&](const std::string& status) {
        auto j = nlohmann::json::parse(status, nullptr, false);
        auto name = j.is_object() && j.contains("node") && j["node"].is_string()
                      ? j["node"].get<std::string>()
                      : std::string{};
        if (name.empty())
          out = make_error(errc::payload_invalid,
                           "the daemon at " + where + " sent a status without its name");
        else if (name != expected)
          out = make_error(errc::config_invalid, "the daemon at " + where + " is node " + name
                                                   + "; the topology names it " + expected);
      },
      [&](caf::error& err) {
        out = make_error(errc::network_error,
                         "the daemon at " + where + " did not say its name: " + describe(err));
      });
  return out;
}

} // namespace herd::actors
