// `herd node --topology FILE --name NAME`: a node daemon. It publishes its node actor on the
// node's address from the topology and runs what supervisors ask for until SIGINT or SIGTERM.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <caf/actor_system.hpp>

#include "actors/node.hpp"
#include "actors/system_config.hpp"
#include "apps/cluster.hpp"
#include "apps/commands.hpp"
#include "apps/fatal.hpp"

namespace herd::apps {

namespace {

int refuse(const std::string& line) {
  std::fprintf(stderr, "herd: %s\n", line.c_str());
  return exit_bad_input;
}

void say(const std::string& name, const std::string& line) {
  char stamp[32];
  auto now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&now));
  std::printf("%s herd node %s: %s\n", stamp, name.c_str(), line.c_str());
  std::fflush(stdout);
}

} // namespace

int node_command(const node_options& opts) {
  install_terminate_handler();
  auto topo = config::load_topology(opts.topology);
  if (!topo)
    return refuse(describe(topo.error()));
  const auto* self = topo->find(opts.name);
  if (self == nullptr) {
    std::string names;
    for (const auto& n : topo->nodes)
      names += (names.empty() ? "" : ", ") + n.name;
    return refuse(opts.topology + ": no node named '" + opts.name + "' (nodes: " + names + ")");
  }
  if (self->port == 0)
    return refuse(opts.topology + ": node " + opts.name
                  + " needs a port (others must know where to reach it)");
  bool tls = topo->tls.enabled();
  if (!tls && !config::is_loopback(self->host)) {
    if (!opts.insecure)
      return refuse("node " + opts.name + " would listen on " + self->host
                    + " without TLS: add \"tls\" to " + opts.topology
                    + " (scripts/herd-certs.sh makes the files) or pass --insecure");
    std::fprintf(stderr, "herd: warning: node %s listens on %s without TLS (--insecure): anyone "
                         "who reaches the port can join and steer jobs\n",
                 opts.name.c_str(), self->host.c_str());
  }
  // SIGINT/SIGTERM are taken by sigwait below; every thread CAF starts inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  actors::system_config cfg;
  if (auto err = enable_cluster_network(cfg, *topo, opts.name))
    return refuse(describe(err));
  caf::actor_system sys{cfg};
  actors::node_setup setup;
  setup.name = opts.name;
  setup.codecs = opts.codecs;
  setup.tls = tls;
  setup.on_log = [name = opts.name](const std::string& line) { say(name, line); };
  auto node = actors::spawn_node(sys, std::move(setup));
  auto port = actors::publish_actor(sys, node, self->port, self->host, tls);
  if (!port) {
    std::fprintf(stderr, "herd: node %s: %s\n", opts.name.c_str(),
                 describe(port.error()).c_str()); // names the address
    std::_Exit(exit_failed);
  }
  say(opts.name, "listening on " + self->host + ":" + std::to_string(*port)
                   + (tls ? " (TLS)" : " (no TLS)"));
  int sig = 0;
  sigwait(&stop_signals, &sig);
  say(opts.name, sig == SIGINT ? "interrupted; stopping" : "terminated; stopping");
  // The job's supervisor sees this node's actors go down and carries on without them; there is
  // nothing to save here, so the process ends without waiting for detached threads.
  std::_Exit(exit_ok);
}

} // namespace herd::apps
