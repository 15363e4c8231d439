// Networking for herd's node daemons: loading CAF's middleman (and its openssl module for
// TLS), publishing an actor on a port and connecting to one, with timeouts and retries.
//
// TLS with CAF 0.17 (measured, see docs/notes-tls.md): with the three files set, both sides
// present a certificate and both verify the peer's against the CA file; host names are not
// checked, so the CA *is* the cluster: any certificate it signed is a member. Without the
// files CAF's openssl module would fall back to anonymous (unauthenticated) TLS; herd never
// uses that mode.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

namespace herd::actors {

/// The PEM files of one node (made by scripts/herd-certs.sh). All empty: no TLS.
struct tls_files {
  std::string ca;          // the cluster CA's certificate; peers must be signed by it
  std::string certificate; // this node's certificate
  std::string key;         // this node's private key (unencrypted)

  /// True when any file is set (enable_network then requires all three).
  bool enabled() const;
};

/// Sets openssl.cafile, openssl.certificate and openssl.key. No checks; see enable_network.
void apply_tls(caf::actor_system_config& cfg, const tls_files& tls);

/// Loads the middleman and, when `tls.enabled()`, the openssl module with `tls` applied.
/// Call once, before the actor system is made from `cfg`. Checks first that the three files
/// exist, parse, and that the key belongs to the certificate: CAF itself would only find out
/// at the first connection, and then throws on its network thread, ending the process.
caf::error enable_network(caf::actor_system_config& cfg, const tls_files& tls);

/// Publishes `whom` on `host`:`port` (port 0: the OS picks; host "": all interfaces) with
/// SO_REUSEADDR. With `tls` every connection must pass the TLS handshake; that needs a
/// system made by enable_network with TLS files. Returns the bound port.
caf::expected<uint16_t> publish_actor(caf::actor_system& sys, const caf::actor& whom,
                                      uint16_t port, const std::string& host, bool tls);

/// One attempt to reach the actor published at `host`:`port`. Blocks the calling thread (not
/// for use inside an event-based actor) for at most `timeout`: CAF's own remote_actor waits
/// forever on a peer that accepts and then stays silent.
caf::expected<caf::actor>
connect_actor(caf::actor_system& sys, const std::string& host, uint16_t port, bool tls,
              std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// connect_actor until it works or `deadline` (total time) has passed, waiting 50 ms after
/// the first failure and doubling up to 1 s. Returns the last error, naming the attempts.
/// Wrong settings (TLS requested without TLS files) fail at once.
caf::expected<caf::actor> connect_with_retry(caf::actor_system& sys, const std::string& host,
                                             uint16_t port, bool tls,
                                             std::chrono::milliseconds deadline);

/// The handshake with a node just connected: both sides must speak the same herd protocol
/// (messages::protocol_version). The error names both versions, or the silence. An actor of
/// this very process is refused at once: a node that dials its own address (the topology gives
/// it to another name too) would wait on itself, busy dialling, until the timeout.
caf::error handshake(caf::actor_system& sys, const caf::actor& node,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// After the handshake: the node at `where` (host:port) must be the one the topology names
/// `expected` there. The protocol checks only versions, so a daemon started under another
/// node's name or address passed it and the job hung. Asks the node's status (answered also
/// while it loads data); the error names both: "the daemon at H:P is node c; the topology
/// names it b".
caf::error check_node_name(caf::actor_system& sys, const caf::actor& node,
                           const std::string& where, const std::string& expected,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

} // namespace herd::actors
