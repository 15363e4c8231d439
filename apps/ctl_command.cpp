// `herd ctl --connect HOST:PORT [COMMAND...]`: steer a running job through any node daemon.
// One command, or (no command) an interactive prompt, see ctl_repl.cpp.
#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/response_promise.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/remote.hpp"
#include "actors/system_config.hpp"
#include "apps/cluster.hpp"
#include "apps/commands.hpp"
#include "apps/ctl_format.hpp"
#include "apps/ctl_repl.hpp"
#include "apps/ctl_session.hpp"
#include "config/job_config.hpp"
#include "messages/atoms.hpp"
#include "messages/errc.hpp"
#include "messages/specs.hpp"

namespace herd::apps {

namespace {

int refuse(const std::string& line) {
  std::fprintf(stderr, "herd: %s\n", line.c_str());
  return exit_bad_input;
}

bool split_address(const std::string& s, std::string& host, uint16_t& port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
    return false;
  auto digits = s.substr(colon + 1);
  if (digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos)
    return false;
  auto p = std::stoul(digits);
  if (p == 0 || p > 65535)
    return false;
  host = s.substr(0, colon);
  port = static_cast<uint16_t>(p);
  return true;
}

const char* const command_names[] = {"status", "add-worker", "remove-worker",
                                     "set-consistency", "checkpoint", "stop"};

bool is_count(const std::string& s) {
  return !s.empty() && s.size() <= 18 && s.find_first_not_of("0123456789") == std::string::npos;
}

/// A staleness bound as a job file takes it (/consistency/staleness: an int).
bool is_staleness(const std::string& s) {
  return is_count(s) && std::stoll(s) <= std::numeric_limits<int>::max();
}

/// "--name value" pairs from words[first] on, each name one of `known` and given once (the
/// last one silently winning hid typos: `--node a --node c` added on c); the problem or "".
std::string check_options(const std::vector<std::string>& words, size_t first,
                          std::initializer_list<const char*> known) {
  for (size_t i = first; i < words.size(); i += 2) {
    if (std::find_if(known.begin(), known.end(), [&](auto k) { return words[i] == k; })
        == known.end())
      return words[0] + ": unknown option '" + words[i] + "'";
    if (i + 1 >= words.size())
      return words[0] + ": " + words[i] + " needs a value";
    for (size_t j = first; j < i; j += 2)
      if (words[j] == words[i])
        return words[0] + ": " + words[i] + " given twice";
  }
  return {};
}

/// The value of option `name` in words[first..], "" when absent (after check_options).
std::string option(const std::vector<std::string>& words, size_t first, const std::string& name) {
  for (size_t i = first; i + 1 < words.size(); i += 2)
    if (words[i] == name)
      return words[i + 1];
  return {};
}

/// The arguments of a known command other than status; the problem or "". `set-consistency ssp`
/// gets "--staleness" config::default_ssp_staleness appended.
std::string check_arguments(std::vector<std::string>& w) {
  const auto& cmd = w[0];
  if (cmd == "add-worker") {
    if (auto p = check_options(w, 1, {"--node", "--device"}); !p.empty())
      return p;
    if (option(w, 1, "--node").empty())
      return "add-worker: --node NAME is required";
    auto device = option(w, 1, "--device");
    if (!device.empty() && !config::valid_device(device))
      return "add-worker: --device \"" + device + "\": expected cpu or cuda:N";
    return {};
  }
  if (cmd == "remove-worker") {
    if (w.size() != 2)
      return "usage: remove-worker ID";
    if (!is_count(w[1]))
      return "remove-worker: expected a worker id as a non-negative integer, got '" + w[1] + "'";
    return {};
  }
  if (cmd == "set-consistency") {
    if (w.size() < 2)
      return "usage: set-consistency bsp|ssp|asp [--staleness S]";
    if (w[1] != "bsp" && w[1] != "ssp" && w[1] != "asp")
      return "set-consistency: unknown consistency model '" + w[1] + "' (bsp, ssp, asp)";
    if (auto p = check_options(w, 2, {"--staleness"}); !p.empty())
      return p;
    auto staleness = option(w, 2, "--staleness");
    if (w.size() > 2 && w[1] != "ssp")
      return "set-consistency: --staleness is for ssp only (" + w[1] + " has no bound)";
    if (w.size() > 2 && !is_staleness(staleness))
      return "set-consistency: --staleness: expected a non-negative integer up to "
             + std::to_string(std::numeric_limits<int>::max()) + ", got '" + staleness + "'";
    if (w[1] == "ssp" && w.size() == 2) // the job file's default, sent: one rule everywhere
      w.insert(w.end(), {"--staleness", std::to_string(config::default_ssp_staleness)});
    return {};
  }
  if (w.size() > 1) // checkpoint, stop
    return cmd + " takes no arguments, got '" + w[1] + "'";
  return {};
}

/// Relays requests to the node and fails them at once when the node is down (see
/// ctl_session): pending ones, keyed by a number, are answered by whichever comes first.
struct link_state {
  caf::actor node;
  std::string address;
  std::shared_ptr<std::atomic<bool>> lost;
  caf::error gone; // set when the node is down
  std::map<uint64_t, caf::response_promise> pending;
  uint64_t next = 0;
};

using link_actor = caf::stateful_actor<link_state>;

template <class T>
void answer(link_actor* self, uint64_t id, T&& x) {
  auto i = self->state.pending.find(id);
  if (i == self->state.pending.end())
    return; // already failed by the down message
  auto rp = i->second;
  self->state.pending.erase(i);
  rp.deliver(std::forward<T>(x));
}

template <class... Ts>
caf::response_promise relay(link_actor* self, std::chrono::seconds timeout, Ts... xs) {
  auto& st = self->state;
  auto rp = self->make_response_promise();
  if (st.gone) {
    rp.deliver(st.gone);
    return rp;
  }
  auto id = st.next++;
  st.pending.emplace(id, rp);
  self->request(st.node, timeout, std::move(xs)...)
    .then([=](std::string& text) { answer(self, id, std::move(text)); },
          [=](caf::error& err) { answer(self, id, std::move(err)); });
  return rp;
}

caf::behavior ctl_link(link_actor* self, caf::actor node, std::string address,
                       std::shared_ptr<std::atomic<bool>> lost) {
  auto& st = self->state;
  st.node = std::move(node);
  st.address = std::move(address);
  st.lost = std::move(lost);
  self->monitor(st.node);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source != st.node.address() || st.gone)
      return;
    st.gone = make_error(errc::network_error, "node " + st.address + " is gone (connection "
                                                "lost); the next command tries it again");
    st.lost->store(true);
    for (auto& [id, rp] : st.pending)
      rp.deliver(st.gone);
    st.pending.clear();
  });
  return {
    [=](ctl_atom, messages::ctl_request& req) {
      return relay(self, std::chrono::seconds(30), ctl_atom::value, std::move(req));
    },
    [=](status_atom) { return relay(self, std::chrono::seconds(10), status_atom::value); },
  };
}

} // namespace

ctl_session::ctl_session(caf::actor_system& sys, caf::actor node, std::string host,
                         uint16_t port, bool tls)
    : sys_{sys}, host_{std::move(host)}, port_{port}, tls_{tls},
      address_{host_ + ":" + std::to_string(port_)} {
  start_link(std::move(node));
}

ctl_session::~ctl_session() {
  caf::anon_send_exit(link_, caf::exit_reason::user_shutdown);
}

void ctl_session::start_link(caf::actor node) {
  if (link_)
    caf::anon_send_exit(link_, caf::exit_reason::user_shutdown);
  lost_ = std::make_shared<std::atomic<bool>>(false);
  link_ = sys_.spawn(ctl_link, std::move(node), address_, lost_);
}

caf::error ctl_session::reconnect() {
  auto node = actors::connect_actor(sys_, host_, port_, tls_, std::chrono::seconds(3));
  if (!node)
    return std::move(node.error());
  if (auto err = actors::handshake(sys_, *node, std::chrono::seconds(5)))
    return err;
  start_link(std::move(*node));
  std::fprintf(stderr, "herd: reconnected to %s\n", address_.c_str());
  return {};
}

ctl_reply ctl_session::send(const std::vector<std::string>& words) {
  ctl_reply out;
  if (lost_->load()) {
    if (reconnect()) {
      out.error = make_error(errc::network_error, "node " + address_ + " is gone and cannot be "
                                                  "reached again; quit and start herd ctl with "
                                                  "--connect to another node");
      return out;
    }
  }
  caf::scoped_actor self{sys_};
  // The link's own timeouts (30 s, 10 s) answer first.
  self->request(link_, std::chrono::seconds(35), ctl_atom::value, messages::ctl_request{words})
    .receive([&](std::string& text) { out.text = std::move(text); },
             [&](caf::error& err) { out.error = std::move(err); });
  // Without a job the node still answers for itself.
  if (out.error && !lost_->load() && words.size() == 1 && words[0] == "status") {
    self->request(link_, std::chrono::seconds(15), status_atom::value)
      .receive([&](std::string& text) {
                 out.text = text;
                 out.error = caf::error{};
               },
               [&](caf::error&) {});
  }
  return out;
}

status_names ctl_session::names() {
  if (lost_->load())
    return {};
  caf::scoped_actor self{sys_};
  std::string text;
  auto keep = [&](std::string& t) { text = std::move(t); };
  self->request(link_, std::chrono::seconds(3), ctl_atom::value,
                messages::ctl_request{{"status"}})
    .receive(keep, [&](caf::error&) {});
  if (text.empty() && !lost_->load()) // no job: the node's own name
    self->request(link_, std::chrono::seconds(3), status_atom::value)
      .receive(keep, [&](caf::error&) {});
  return names_in_status(text);
}

std::string check_command(std::vector<std::string>& words, bool& json) {
  // "status --json", one-shot as at the prompt (other commands' words are their own).
  if (!words.empty() && words[0] == "status") {
    auto flags = std::remove(words.begin() + 1, words.end(), std::string{"--json"});
    json = json || flags != words.end();
    words.erase(flags, words.end());
  }
  // Known here, so that the answer does not depend on whether a job runs on the node.
  if (words.empty() || std::find(std::begin(command_names), std::end(command_names), words[0])
                         == std::end(command_names))
    return "unknown command '" + (words.empty() ? std::string{} : words[0])
           + "' (status, add-worker, remove-worker, set-consistency, checkpoint, stop)";
  if (words[0] == "status")
    return words.size() > 1 ? "status takes no arguments but --json, got '" + words[1] + "'"
                            : std::string{};
  return check_arguments(words);
}

int ctl_session::run(const std::vector<std::string>& line, bool json) {
  auto words = line;
  if (auto problem = check_command(words, json); !problem.empty())
    return refuse(problem);
  auto r = send(words);
  if (r.error) {
    // The command was checked here: what the node refuses depends on its state ("no job is
    // running on node a", "no active worker 7").
    std::fprintf(stderr, "herd: %s\n", describe(r.error).c_str());
    return exit_failed;
  }
  auto text = (!json && words.size() == 1 && words[0] == "status") ? status_table(r.text)
                                                                     : r.text;
  std::printf("%s%s", text.c_str(), text.empty() || text.back() != '\n' ? "\n" : "");
  std::fflush(stdout);
  return exit_ok;
}

int ctl_command(const ctl_options& opts) {
  // `herd ctl help`, `herd ctl add-worker --help`: answered without a node or a topology.
  if (asks_for_help(opts.words)) {
    std::printf("%s", ctl_help_text());
    return exit_ok;
  }
  std::optional<config::topology> topo;
  if (!opts.topology.empty()) {
    auto t = config::load_topology(opts.topology);
    if (!t)
      return refuse(describe(t.error()));
    topo = std::move(*t);
  }
  auto words = opts.words;
  bool json = opts.json;
  if (!words.empty()) // before any connection: a typo is answered without a node
    if (auto problem = check_command(words, json); !problem.empty())
      return refuse(problem);
  std::string host;
  uint16_t port = 0;
  if (!opts.connect.empty()) {
    if (!split_address(opts.connect, host, port))
      return refuse("--connect: expected HOST:PORT, got '" + opts.connect + "'");
  } else if (topo) {
    host = topo->nodes.front().host;
    port = topo->nodes.front().port;
  } else {
    return refuse("ctl: give --connect HOST:PORT or --topology FILE");
  }
  actors::system_config cfg;
  if (auto err = enable_cluster_network(cfg, topo ? *topo : config::topology{}, "client"))
    return refuse(describe(err));
  caf::actor_system sys{cfg};
  // The topology's connect_timeout_s, as herd run and the nodes take it; 5 s without one.
  auto patience = topo ? std::chrono::milliseconds(int64_t(topo->connect_timeout_s * 1000))
                       : std::chrono::milliseconds(5000);
  auto node = actors::connect_with_retry(sys, host, port, topo && topo->tls.enabled(), patience);
  if (!node) {
    std::fprintf(stderr, "herd: cannot reach %s:%u: %s\n", host.c_str(), unsigned(port),
                 describe(node.error()).c_str());
    std::_Exit(exit_failed);
  }
  if (auto err = actors::handshake(sys, *node)) {
    std::fprintf(stderr, "herd: %s:%u refused: %s\n", host.c_str(), unsigned(port),
                 describe(err).c_str());
    std::_Exit(exit_failed);
  }
  // Dialled from the topology: the daemon there must be the node it names (as herd run checks).
  if (opts.connect.empty() && topo) {
    auto where = host + ":" + std::to_string(port);
    if (auto err = actors::check_node_name(sys, *node, where, topo->nodes.front().name)) {
      std::fprintf(stderr, "herd: %s\n", describe(err).c_str());
      std::_Exit(exit_failed);
    }
  }
  ctl_session session{sys, *node, host, port, topo && topo->tls.enabled()};
  auto code = opts.words.empty() ? session.repl() : session.run(words, json);
  std::fflush(stdout);
  std::_Exit(code); // no need to wait for the middleman's threads
}

} // namespace herd::apps
