#include "actors/node.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <nlohmann/json.hpp>

#include "actors/job.hpp"
#include "actors/compute_backend.hpp"
#include "actors/job_parts.hpp"
#include "actors/remote.hpp"
#include "config/job_parse.hpp"
#include "kernels/cpu/blas_threads.hpp"
#include "messages/atoms.hpp"
#include "messages/specs.hpp"

namespace herd::actors {

namespace {

struct node_actor_state {
  node_setup setup;
  std::string plan_json; // the job text `plan` was built from
  std::optional<job_plan> plan;
  std::optional<config::data_config> loaded; // what `setup.train` holds, when loaded here
  caf::actor supervisor;
  std::map<caf::actor_addr, bool> spawned; // live actors: true = shard
  std::map<std::string, caf::actor> peers;  // "host:port" -> that node, connected directly
  static inline const char* name = "herd.node";
};

using node_self = caf::stateful_actor<node_actor_state>*;

expected<const job_plan*> plan_for(node_self self, const std::string& job_json) {
  auto& st = self->state;
  if (st.setup.job) {
    if (!st.plan)
      st.plan = plan_job(*st.setup.job);
    return &*st.plan;
  }
  if (!st.plan || st.plan_json != job_json) {
    auto cfg = config::parse_job(job_json);
    if (!cfg)
      return std::move(cfg.error());
    st.plan = plan_job(*cfg);
    st.plan_json = job_json;
  }
  return &*st.plan;
}

// Loads the job's training set unless it is the one already held.
caf::error ensure_data(node_self self, const config::job_config& cfg) {
  auto& st = self->state;
  if (st.setup.train && (!st.loaded || *st.loaded == cfg.data))
    return {};
  auto in = load_inputs(cfg);
  if (!in)
    return std::move(in.error());
  st.setup.train = in->train;
  st.loaded = cfg.data;
  return {};
}

void log(node_self self, const std::string& line) {
  if (self->state.setup.on_log)
    self->state.setup.on_log(line);
}

// Connects to every other node of the job on its published port, so that the workers and
// shards spawned here reach theirs directly (CAF would route through the supervisor's process
// otherwise; its automatic connections are off because they bypass TLS).
caf::error connect_peers(node_self self, const std::vector<messages::peer>& peers) {
  auto& st = self->state;
  for (const auto& p : peers) {
    auto key = p.host + ":" + std::to_string(p.port);
    // One connection per pair: a node dials only the peers named before it (two connections
    // between the same pair made CAF 0.17 drop routes over TLS).
    if (p.name >= st.setup.name || st.peers.count(key) > 0)
      continue;
    auto h = connect_with_retry(self->system(), p.host, p.port, st.setup.tls,
                                std::chrono::seconds(20));
    // The peer's node actor answers the handshake only after its own attach, which loads the
    // job's training set synchronously: seconds on a loaded machine, more for a large dataset.
    // 10 s made jobs fail with "no protocol handshake from the peer" under load.
    if (h)
      if (auto err = handshake(self->system(), *h, std::chrono::minutes(2)))
        return make_error(errc::invalid_argument, "node " + p.name + " at " + key
                                                    + " refused: " + describe(err));
    if (!h)
      return make_error(errc::network_error, "node " + st.setup.name + " cannot reach node "
                                               + p.name + " at " + key + ": " + describe(h.error()));
    st.peers.emplace(key, std::move(*h));
    log(self, "connected to node " + p.name + " at " + key);
  }
  return {};
}

// The job is over (detached, or its supervisor is gone): its shards and workers here end.
void end_job(node_self self, const std::string& why) {
  auto& st = self->state;
  if (st.supervisor)
    self->demonitor(st.supervisor);
  st.supervisor = nullptr;
  for (auto& [addr, is_shard] : st.spawned)
    self->send_exit(addr, caf::exit_reason::kill);
  log(self, why + (st.spawned.empty() ? std::string{}
                                       : "; " + std::to_string(st.spawned.size())
                                           + " actor(s) of the job stopped"));
}

void track(node_self self, const caf::actor& a, bool shard) {
  self->monitor(a);
  self->state.spawned.emplace(a.address(), shard);
}

std::string status_json(node_self self) {
  size_t shards = 0, workers = 0;
  for (auto& [addr, is_shard] : self->state.spawned)
    (is_shard ? shards : workers) += 1;
  nlohmann::json j{{"node", self->state.setup.name},
                   {"job", bool(self->state.supervisor)},
                   {"shards", shards},
                   {"workers", workers}};
  return j.dump();
}

caf::behavior node_behavior(node_self self, node_setup setup) {
  self->state.setup = std::move(setup);
  self->set_default_handler(caf::print_and_drop);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    st.spawned.erase(dm.source);
    if (st.supervisor && dm.source == st.supervisor.address())
      end_job(self, "the job's supervisor is gone (" + describe(dm.reason) + ")");
  });
  return {
    [=](attach_atom, caf::actor sup, const std::string& job_json,
        const std::vector<messages::peer>& peers) -> caf::result<bool> {
      auto plan = plan_for(self, job_json);
      if (!plan)
        return std::move(plan.error());
      if (auto err = connect_peers(self, peers))
        return err;
      const auto& cfg = (*plan)->cfg;
      bool hosts_workers = false;
      for (const auto& w : cfg.workers)
        hosts_workers |= w.node == self->state.setup.name;
      if (hosts_workers)
        if (auto err = ensure_data(self, cfg))
          return err;
      if (!self->state.setup.job) // a daemon: the job's BLAS threads (herd run sets its own)
        kernels::set_blas_threads(cfg.training.blas_threads);
      if (self->state.supervisor && self->state.supervisor != sup)
        return make_error(errc::invalid_argument,
                          "node " + self->state.setup.name + " runs another job already");
      self->state.supervisor = std::move(sup);
      self->monitor(self->state.supervisor);
      log(self, "job " + cfg.name + " attached (supervisor " + caf::to_string(
                  self->state.supervisor.address()) + ")");
      return true;
    },
    [=](detach_atom) {
      if (self->state.supervisor)
        end_job(self, "job detached");
    },
    [=](spawn_shard_atom, const messages::shard_spec& spec) -> caf::result<caf::actor> {
      auto plan = plan_for(self, spec.job_json);
      if (!plan)
        return std::move(plan.error());
      if (spec.index >= (*plan)->slices.size())
        return make_error(errc::invalid_argument,
                          "no shard " + std::to_string(spec.index) + " in this job");
      auto shard = make_shard(self->system(), **plan, self->state.setup.codecs, spec.index,
                              spec.horizon, spec.members, spec.snapshot);
      if (!shard)
        return std::move(shard.error());
      track(self, *shard, true);
      log(self, "shard " + std::to_string(spec.index)
                  + (spec.snapshot.empty() ? " started" : " started from its checkpoint"));
      return *shard;
    },
    [=](spawn_worker_atom, messages::worker_spec& spec) -> caf::result<caf::actor> {
      auto plan = plan_for(self, spec.job_json);
      if (!plan)
        return std::move(plan.error());
      if (spec.shards.size() != (*plan)->slices.size())
        return make_error(errc::invalid_argument,
                          "worker " + std::to_string(spec.id) + ": "
                            + std::to_string(spec.shards.size()) + " shards given, the job has "
                            + std::to_string((*plan)->slices.size()));
      if (auto err = ensure_data(self, (*plan)->cfg))
        return err;
      auto worker = (*plan)->pipelined()
                      ? make_stage(self->system(), **plan, *self->state.setup.codecs,
                                   self->state.setup.train, spec.id, spec.clock,
                                   std::move(spec.shards), std::move(spec.next),
                                   std::move(spec.supervisor), spec.incarnation, spec.start)
                      : make_worker(self->system(), **plan, *self->state.setup.codecs,
                                    self->state.setup.train, spec.id, spec.clock,
                                    std::move(spec.shards), std::move(spec.supervisor),
                                    self->state.setup.transfer, spec.start, spec.incarnation,
                                    spec.device);
      if (!worker)
        return std::move(worker.error());
      track(self, *worker, false);
      log(self, "worker " + std::to_string(spec.id) + " started at clock "
                  + std::to_string(spec.clock) + " on " + spec.device);
      return *worker;
    },
    [=](ctl_atom, const messages::ctl_request& req) -> caf::result<std::string> {
      if (!self->state.supervisor)
        return make_error(errc::invalid_argument, "no job is running on node "
                                                    + self->state.setup.name);
      auto rp = self->make_response_promise();
      rp.delegate(self->state.supervisor, ctl_atom::value, req);
      return rp;
    },
    [=](status_atom) { return status_json(self); },
    [=](device_atom, const std::string& device) -> caf::result<bool> {
      if (auto err = check_device(device))
        return make_error(code_of(err), "node " + self->state.setup.name + ": "
                                          + describe(err));
      return true;
    },
    [=](hello_atom, uint32_t version) -> caf::result<uint32_t> {
      if (version != messages::protocol_version)
        return make_error(errc::invalid_argument,
                          "node " + self->state.setup.name + " speaks herd protocol "
                            + std::to_string(messages::protocol_version) + ", the peer "
                            + std::to_string(version));
      return messages::protocol_version;
    },
  };
}

} // namespace

caf::actor spawn_node(caf::actor_system& sys, node_setup setup) {
  // Detached: loading a training set blocks for a while.
  return sys.spawn<caf::detached>(node_behavior, std::move(setup));
}

} // namespace herd::actors
