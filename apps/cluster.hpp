// Reaching a cluster's node daemons from a process of herd's (herd run --cluster, herd ctl):
// the network settings for the actor system, and connections to every node at once.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/remote.hpp"
#include "config/topology.hpp"
#include "messages/errc.hpp"

namespace herd::apps {

/// The TLS files of `who` (a node's name, or "client" for run and ctl) per the topology.
actors::tls_files tls_of(const config::topology& topo, const std::string& who);

/// Loads the middleman (and TLS when the topology configures it) into `cfg`.
caf::error enable_cluster_network(caf::actor_system_config& cfg, const config::topology& topo,
                                  const std::string& who);

/// The topology at `path` for herd run and validate: parsed, and the TLS files herd run would
/// present ("client") checked, before any data is read. Errors start with `path`.
expected<config::topology> load_client_topology(const std::string& path);

/// Connects to the named nodes in parallel, retrying until the topology's connect timeout.
/// The error names every node that could not be reached, with its address.
expected<std::map<std::string, caf::actor>>
connect_nodes(caf::actor_system& sys, const config::topology& topo,
              const std::vector<std::string>& names);

} // namespace herd::apps
