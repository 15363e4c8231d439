// The `herd ctl` commands, as the supervisor runs them. Words come as typed; errors go back to
// the client as one line.
#include <caf/event_based_actor.hpp>

#include <nlohmann/json.hpp>

#include "actors/consistency.hpp"
#include "actors/supervisor_actor.hpp"
#include "messages/atoms.hpp"

namespace herd::actors {

namespace {

caf::error usage(const std::string& what) {
  return make_error(errc::invalid_argument, what);
}

// "--name value" pairs after the command's positional words.
expected<std::map<std::string, std::string>> options_of(const std::vector<std::string>& words,
                                                        size_t first,
                                                        std::initializer_list<const char*> known) {
  std::map<std::string, std::string> out;
  for (size_t i = first; i < words.size(); i += 2) {
    const auto& w = words[i];
    bool ok = false;
    for (auto k : known)
      ok |= w == k;
    if (!ok)
      return usage(words[0] + ": unknown option '" + w + "'");
    if (i + 1 >= words.size())
      return usage(words[0] + ": " + w + " needs a value");
    if (!out.emplace(w, words[i + 1]).second) // as herd ctl refuses it, for any client
      return usage(words[0] + ": " + w + " given twice");
  }
  return out;
}

expected<uint64_t> number_of(const std::string& s, const std::string& what) {
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
    return usage("expected " + what + " as a non-negative integer, got '" + s + "'");
  return std::stoull(s);
}

void status(supervisor_self self, caf::response_promise rp) {
  auto& st = self->state;
  auto& cfg = st.in.cfg;
  auto j = std::make_shared<nlohmann::json>();
  auto& o = *j;
  o["job"] = cfg.name;
  o["state"] = st.ending ? "ending" : st.started ? "running" : "starting";
  o["elapsed_s"] = st.core->elapsed_s();
  o["clock"] = st.core->min_clock();
  o["max_clock"] = st.core->max_clock();
  o["samples"] = st.core->samples();
  o["consistency"] = rule_name(st.rule);
  o["nodes"] = nlohmann::json::array();
  // A node the job lost (its link went down) stays in st.nodes but is never used again.
  for (const auto& n : cfg.nodes) {
    bool lost = st.dead_nodes.count(n.name) > 0;
    o["nodes"].push_back({{"name", n.name},
                          {"host", n.host},
                          {"port", n.port},
                          {"connected", st.nodes.count(n.name) > 0 && !lost},
                          {"lost", lost}});
  }
  o["workers"] = nlohmann::json::array();
  for (const auto& w : st.core->workers()) {
    auto role = st.plan.pipelined()
                  ? "replica " + std::to_string(w.id / uint32_t(st.plan.stage_count())) + " stage "
                      + std::to_string(st.plan.stage_of(w.id))
                  : std::string{"worker"};
    o["workers"].push_back({{"id", w.id},
                            {"role", role},
                            {"stage_idle", w.stage_idle},
                            {"node", st.worker_nodes[w.id]},
                            {"state", w.active ? "active" : "left"},
                            {"clock", w.clock},
                            {"lag", st.core->max_clock() - std::min(st.core->max_clock(), w.clock)},
                            {"samples_per_s", w.samples_per_s},
                            {"up_bytes", w.up_bytes},
                            {"down_bytes", w.down_bytes},
                            {"device", st.device_of(w.id)}});
  }
  o["shards"] = nlohmann::json::array();
  for (size_t i = 0; i < st.shards.size(); ++i)
    o["shards"].push_back({{"id", i}, {"node", cfg.shards[i].node}});
  auto left = std::make_shared<size_t>(st.shards.size());
  auto reply = [=]() mutable {
    if (--*left == 0)
      rp.deliver(j->dump());
  };
  if (st.shards.empty() || !st.shards.front())
    return rp.deliver(j->dump());
  for (size_t i = 0; i < st.shards.size(); ++i)
    self->request(st.shards[i], std::chrono::seconds(10), stats_atom::value)
      .then(
        [=](const messages::shard_stats& s) mutable {
          auto& row = (*j)["shards"][i];
          staleness_histogram h;
          h.merge(s.staleness_counts, s.staleness_max);
          row["version"] = s.version;
          row["pushes"] = s.pushes;
          row["refused"] = s.refused;
          row["staleness_p50"] = h.quantile(0.5);
          row["staleness_p99"] = h.quantile(0.99);
          reply();
        },
        [=](caf::error& err) mutable {
          (*j)["shards"][i]["error"] = describe(err);
          reply();
        });
}

} // namespace

void handle_ctl(supervisor_self self, const messages::ctl_request& req,
                caf::response_promise rp) {
  const auto& w = req.words;
  if (w.empty())
    return rp.deliver(usage("empty command"));
  const auto& cmd = w[0];
  if (cmd == "status") {
    if (w.size() > 1)
      return rp.deliver(usage("status takes no arguments"));
    return status(self, std::move(rp));
  }
  if (cmd == "add-worker") {
    auto opts = options_of(w, 1, {"--node", "--device"});
    if (!opts)
      return rp.deliver(opts.error());
    if (opts->count("--node") == 0)
      return rp.deliver(usage("add-worker: --node NAME is required"));
    auto device = opts->count("--device") ? opts->at("--device") : "cpu";
    if (!config::valid_device(device))
      return rp.deliver(usage("add-worker: --device \"" + device
                              + "\": expected cpu or cuda:N"));
    return add_worker(self, opts->at("--node"), device, std::move(rp));
  }
  if (cmd == "remove-worker") {
    if (w.size() != 2)
      return rp.deliver(usage("usage: remove-worker ID"));
    auto id = number_of(w[1], "a worker id");
    if (!id)
      return rp.deliver(id.error());
    auto& st = self->state;
    if (st.plan.pipelined() && *id <= UINT32_MAX) {
      // A pipeline job shrinks by whole replicas: stage 0 stops after its minibatch's commit,
      // and its end runs down the chain; each stage leaves its shards.
      auto k = uint32_t(st.plan.stage_count());
      uint32_t r = uint32_t(*id) / k;
      auto head = st.workers.find(r * k);
      if (head == st.workers.end())
        return rp.deliver(usage("no active replica " + std::to_string(r) + " (worker " + w[1]
                                + " is its stage " + std::to_string(*id % k) + ")"));
      self->send(head->second, stop_atom::value);
      st.removing.insert(r * k);
      auto range = "workers " + std::to_string(r * k) + "-" + std::to_string(r * k + k - 1);
      log(self, "removing replica " + std::to_string(r) + " (" + range + ")");
      return rp.deliver("replica " + std::to_string(r) + " (" + range
                        + ") finishes its minibatch, pushes and leaves");
    }
    auto it = st.workers.find(static_cast<uint32_t>(*id));
    if (*id <= UINT32_MAX && it == st.workers.end()
        && st.restarting.erase(static_cast<uint32_t>(*id)) > 0) { // failed, in its backoff
      auto line = "worker " + w[1] + " failed and is not restarted (removed)";
      log(self, line);
      maybe_finish(self);
      return rp.deliver(line);
    }
    if (*id > UINT32_MAX || it == st.workers.end())
      return rp.deliver(usage("no active worker " + w[1]));
    self->send(it->second, stop_atom::value);
    st.removing.insert(it->first);
    log(self, "removing worker " + w[1]);
    return rp.deliver("worker " + w[1] + " finishes its step, pushes and leaves");
  }
  if (cmd == "set-consistency") {
    if (w.size() < 2)
      return rp.deliver(usage("usage: set-consistency bsp|ssp|asp [--staleness S]"));
    auto opts = options_of(w, 2, {"--staleness"});
    if (!opts)
      return rp.deliver(opts.error());
    messages::consistency_msg m{w[1], 0, self->state.in.cfg.consistency.staleness_aware};
    if (opts->count("--staleness")) {
      auto s = number_of(opts->at("--staleness"), "the staleness");
      if (!s)
        return rp.deliver(s.error());
      m.staleness = *s;
    } else if (m.model == "ssp") {
      m.staleness = 3;
    }
    auto rule = rule_from(m);
    if (!rule)
      return rp.deliver(rule.error());
    set_consistency(self, *rule);
    return rp.deliver("consistency set to " + rule_name(*rule));
  }
  if (cmd == "stop") {
    auto& st = self->state;
    if (st.ending) // every worker has ended: nothing to stop
      return rp.deliver(std::string("the job is ending already: its final evaluation runs"));
    if (st.stop_requested)
      return rp.deliver(std::string("stopping already"));
    st.stop_requested = true;
    // A pipeline replica stops at its head: stage 0 ends after the commit of the minibatch
    // under way and its end runs down the chain. A later stage told to stop would leave at its
    // next pull while stage 0 waits for that minibatch's deltas forever.
    for (auto& [id, h] : st.workers)
      if (!st.plan.pipelined() || st.plan.stage_of(id) == 0)
        self->send(h, stop_atom::value);
    log(self, "stop requested: every worker finishes its step; then the final evaluation");
    return rp.deliver("stopping: " + std::to_string(st.workers.size())
                      + " worker(s) finish their step, then the final evaluation");
  }
  if (cmd == "checkpoint") {
    if (w.size() != 1)
      return rp.deliver(usage("checkpoint takes no arguments"));
    if (!self->state.started || self->state.ending)
      return rp.deliver(usage("the job is not running (starting or ending)"));
    return start_checkpoint(self, std::move(rp));
  }
  return rp.deliver(usage("unknown command '" + cmd
                          + "' (status, add-worker, remove-worker, set-consistency, "
                            "checkpoint, stop)"));
}

} // namespace herd::actors
