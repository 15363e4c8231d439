// Cluster topology files: the node daemons of a cluster and how they talk (docs/operations.md).
//
//   {"nodes": [{"name": "a", "host": "127.0.0.1", "port": 7301}, ...],
//    "tls": {"ca": "certs/ca.pem", "certificate": "certs/{name}.pem", "key": "certs/{name}.key"},
//    "connect_timeout_s": 30}
//
// Relative paths are relative to the topology file; "{name}" is the node's (or client's) name.
// Errors as in job_parse.hpp: file_not_found, io_error, config_syntax, config_invalid.
#pragma once

#include <string>
#include <vector>

#include "config/job_config.hpp"
#include "messages/errc.hpp"

namespace herd::config {

struct tls_config {
  std::string ca;          // the cluster CA's certificate (PEM)
  std::string certificate; // this process's certificate; "{name}" expands
  std::string key;         // its private key; "{name}" expands
  bool enabled() const { return !ca.empty(); }
  bool operator==(const tls_config&) const = default;
};

struct topology {
  std::vector<node_config> nodes;
  tls_config tls;
  double connect_timeout_s = 30; // how long to retry reaching the nodes
  bool operator==(const topology&) const = default;

  /// The node called `name`, or nullptr.
  const node_config* find(const std::string& name) const;
};

herd::expected<topology> parse_topology(const std::string& json_text,
                                        const std::string& base_dir = "");
herd::expected<topology> load_topology(const std::string& path);

/// `tls` with "{name}" replaced by `name` in the certificate and key paths.
tls_config tls_for(const tls_config& tls, const std::string& name);

/// Whether `host` is a loopback address or "localhost".
bool is_loopback(const std::string& host);

} // namespace herd::config
