#include "apps/cluster.hpp"

#include <future>

#include <caf/actor_system_config.hpp>

#include "actors/system_config.hpp"

namespace herd::apps {

actors::tls_files tls_of(const config::topology& topo, const std::string& who) {
  if (!topo.tls.enabled())
    return {};
  auto t = config::tls_for(topo.tls, who);
  return actors::tls_files{t.ca, t.certificate, t.key};
}

caf::error enable_cluster_network(caf::actor_system_config& cfg, const config::topology& topo,
                                  const std::string& who) {
  // No automatic connections: CAF would open a plain listener on every interface for them,
  // around TLS. Nodes connect to each other on their published ports instead (node attach).
  return actors::enable_network(cfg, tls_of(topo, who));
}

expected<config::topology> load_client_topology(const std::string& path) {
  auto prefixed = [&](const caf::error& err) {
    auto what = describe(err);
    return make_error(code_of(err) == errc::none ? errc::config_invalid : code_of(err),
                      what.rfind(path, 0) == 0 ? what : path + ": " + what);
  };
  auto topo = config::load_topology(path);
  if (!topo)
    return prefixed(topo.error());
  actors::system_config scratch; // enable_network checks the files as it loads them
  if (auto err = enable_cluster_network(scratch, *topo, "client"))
    return prefixed(err);
  return topo;
}

expected<std::map<std::string, caf::actor>>
connect_nodes(caf::actor_system& sys, const config::topology& topo,
              const std::vector<std::string>& names) {
  auto deadline = std::chrono::milliseconds(static_cast<int64_t>(topo.connect_timeout_s * 1000));
  bool tls = topo.tls.enabled();
  std::vector<std::future<caf::expected<caf::actor>>> pending;
  for (const auto& name : names) {
    const auto* node = topo.find(name);
    if (node == nullptr)
      return make_error(errc::config_invalid, "no node " + name + " in the topology");
    pending.push_back(std::async(std::launch::async, [&sys, node, tls, deadline] {
      return actors::connect_with_retry(sys, node->host, node->port, tls, deadline);
    }));
  }
  std::map<std::string, caf::actor> out;
  std::string unreachable;
  for (size_t i = 0; i < names.size(); ++i) {
    auto h = pending[i].get();
    const auto* node = topo.find(names[i]);
    if (h) {
      auto where = node->host + ":" + std::to_string(node->port);
      if (auto err = actors::handshake(sys, *h))
        return make_error(errc::invalid_argument,
                          "node " + names[i] + " at " + where + " refused: " + describe(err));
      // A daemon under another name would take the job's parts of this one: refused up front.
      if (auto err = actors::check_node_name(sys, *h, where, names[i]))
        return err;
      out.emplace(names[i], std::move(*h));
      continue;
    }
    unreachable += (unreachable.empty() ? "" : "; ") + names[i] + " at " + node->host + ":"
                   + std::to_string(node->port) + " (" + describe(h.error()) + ")";
  }
  if (!unreachable.empty())
    return make_error(errc::timeout, "cannot reach node(s) within "
                                       + std::to_string(int(topo.connect_timeout_s))
                                       + " s: " + unreachable);
  return out;
}

} // namespace herd::apps
