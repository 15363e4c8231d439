#include "actors/node.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <atomic>
#include <functional>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/job.hpp"
#include "actors/compute_backend.hpp"
#include "actors/job_parts.hpp"
#include "actors/remote.hpp"
#include "actors/thread_limits.hpp"
#include "config/job_parse.hpp"
#include "kernels/cpu/blas_threads.hpp"
#include "messages/atoms.hpp"
#include "messages/specs.hpp"

namespace herd::actors {

namespace {

// A training set being loaded by a helper actor while the node goes on answering.
struct pending_load {
  config::data_config data;
  std::shared_ptr<const data::dataset> train; // set by the helper on success
  caf::error err;                             // set by the helper on failure
  std::atomic<bool> done{false};              // train or err is set (release/acquire)
  std::vector<std::function<void(const caf::error&)>> then; // run when it is done
};

struct node_actor_state {
  node_setup setup;
  std::string plan_json; // the job text `plan` was built from
  std::optional<job_plan> plan;
  // What `setup.train` holds, when loaded here (the set names the files it was read from).
  std::optional<config::data_config> loaded;
  std::shared_ptr<pending_load> loading;      // the load in progress, if any
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

// A set loaded here is the job's when the job names the same data config and, at a job's
// attach (`check_files`), the training files are still the ones read (a file rewritten in place
// or replaced is another data set: reusing the old one trained on stale data, or on indices past
// its end). Within the job (a restarted or added worker) the set read at its attach stays: the
// job's data was planned on it, whatever happens to the files meanwhile.
bool holds_data(node_self self, const config::data_config& data, bool check_files) {
  auto& st = self->state;
  if (!st.setup.train)
    return false;
  if (!st.loaded) // in one process: the set herd run loaded for this job
    return true;
  return *st.loaded == data
         && (!check_files
             || data::same_files(*st.setup.train, data.train_images, data.train_labels));
}

// Runs `then` once the job's training set is held here, loading it unless it is the one held.
// The load runs in a detached helper, so the node goes on answering (peers' handshakes, status,
// ctl) while it reads: a large set takes seconds, and a peer waits for the handshake.
void with_data(node_self self, const config::job_config& cfg,
               std::function<void(const caf::error&)> then, bool check_files = true) {
  auto& st = self->state;
  if (holds_data(self, cfg.data, check_files))
    return then({});
  if (st.loading) { // one load at a time; what waits is checked again afterwards
    if (st.loading->data == cfg.data) // its error, or the set if the files did not change since
      return st.loading->then.push_back([=](const caf::error& err) mutable {
        if (err)
          return then(err);
        with_data(self, cfg, std::move(then), check_files);
      });
    return st.loading->then.push_back([=](const caf::error&) mutable {
      with_data(self, cfg, std::move(then), check_files);
    });
  }
  auto load = std::make_shared<pending_load>();
  load->data = cfg.data;
  load->then.push_back(std::move(then));
  st.loading = load;
  auto node = caf::actor_cast<caf::actor>(self);
  try {
    self->spawn<caf::detached>([load, cfg, node](caf::event_based_actor* helper) {
      auto in = load_inputs(cfg);
      if (in)
        load->train = in->train;
      else
        load->err = std::move(in.error());
      load->done.store(true, std::memory_order_release);
      helper->send(node, loaded_atom::value);
    });
  } catch (const std::system_error& e) { // no thread for the loader (thread_limits.hpp)
    note_thread_start_failure();
    load->err = make_error(errc::actor_failed, thread_start_error(e.what()));
    load->done.store(true, std::memory_order_release);
    self->send(self, loaded_atom::value);
  }
}

// Refuses a job whose workers here (and their tensor ranks) need more threads than this
// process can start: asked for one by one, the node would fail the job only at the first
// worker past the limit, after starting all before it.
caf::error check_threads(node_self self, const config::job_config& cfg) {
  uint64_t here = 0;
  for (const auto& w : cfg.workers)
    here += w.node == self->state.setup.name;
  auto need = worker_threads(cfg, self->state.setup.name);
  if (need == 0)
    return {};
  auto room = thread_headroom();
  constexpr uint64_t reserve = 4; // the data loader, and some slack
  if (need + reserve <= room.more)
    return {};
  return make_error(errc::invalid_argument,
                    "node " + self->state.setup.name + " cannot run " + std::to_string(here)
                      + " workers: they need " + std::to_string(need)
                      + " threads, and this process can start about "
                      + std::to_string(room.more) + " more (" + room.limit
                      + "); place fewer workers on it or raise that limit");
}

// The helper's load ended: keep the set (or drop the failed load) and run what waited for it.
void load_done(node_self self) {
  auto& st = self->state;
  if (!st.loading || !st.loading->done.load(std::memory_order_acquire))
    return; // not from a helper of ours
  auto load = std::move(st.loading);
  st.loading = nullptr;
  if (load->train) {
    st.setup.train = load->train;
    st.loaded = load->data;
  }
  for (auto& f : load->then)
    f(load->err);
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
    // The peer's node actor answers while it loads its training set (a helper reads it), but
    // it may still be dialling its own peers; 10 s once failed under load, 2 min is a backstop.
    if (h) {
      if (auto err = handshake(self->system(), *h, std::chrono::minutes(2)))
        return make_error(errc::invalid_argument, "node " + p.name + " at " + key
                                                    + " refused: " + describe(err));
      // The daemon there must be the node the job names (herd run checks it too, up front).
      if (auto err = check_node_name(self->system(), *h, key, p.name, std::chrono::minutes(2)))
        return make_error(errc::invalid_argument, "node " + st.setup.name + ": "
                                                    + describe(err));
    }
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

// The error for an attach while another job's supervisor is attached.
caf::error other_job(node_self self, const caf::actor& sup) {
  const auto& st = self->state;
  if (st.supervisor && st.supervisor != sup)
    return make_error(errc::invalid_argument,
                      "node " + st.setup.name + " runs another job already"
                        + (st.plan ? " (" + st.plan->cfg.name + ")" : std::string{})
                        + ": stop it (herd ctl stop) or wait for its end");
  return {};
}

// Starts a worker (or a pipeline stage) of the job once its training set is held here.
expected<caf::actor> spawn_worker(node_self self, messages::worker_spec& spec) {
  auto plan = plan_for(self, spec.job_json); // again: another job may have come meanwhile
  if (!plan)
    return std::move(plan.error());
  auto& st = self->state;
  // A thread that cannot start throws from the spawn (thread_limits.hpp): the job is told.
  auto started = [&]() -> expected<caf::actor> {
    try {
      if ((*plan)->pipelined())
        return make_stage(self->system(), **plan, *st.setup.codecs, st.setup.train, spec.id,
                          spec.clock, std::move(spec.shards), std::move(spec.next),
                          std::move(spec.supervisor), spec.incarnation, spec.start);
      return make_worker(self->system(), **plan, *st.setup.codecs, st.setup.train, spec.id,
                         spec.clock, std::move(spec.shards), std::move(spec.supervisor),
                         st.setup.transfer, spec.start, spec.incarnation, spec.device);
    } catch (const std::system_error& e) {
      note_thread_start_failure();
      return make_error(errc::actor_failed, thread_start_error(e.what()));
    }
  };
  auto worker = started();
  if (!worker)
    return std::move(worker.error());
  track(self, *worker, false);
  log(self, "worker " + std::to_string(spec.id) + " started at clock "
              + std::to_string(spec.clock) + " on " + spec.device);
  return *worker;
}

caf::behavior node_behavior(node_self self, node_setup setup) {
  self->state.setup = std::move(setup);
  self->set_default_handler(caf::print_and_drop);
  // CAF's default for an error message that is no answer to a request of ours is to quit with
  // it: a peer that answered our reply to its plain send with an error ended the daemon.
  self->set_error_handler([=](caf::error& err) {
    log(self, "ignored an error message that answers nothing: " + describe(err));
  });
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    st.spawned.erase(dm.source);
    if (st.supervisor && dm.source == st.supervisor.address())
      end_job(self, "the job's supervisor is gone (" + describe(dm.reason) + ")");
  });
  return {
    [=](attach_atom, caf::actor sup, const std::string& job_json,
        const std::vector<messages::peer>& peers) -> caf::result<bool> {
      if (auto err = other_job(self, sup)) // before plan_for: the running job keeps its plan
        return err;
      auto plan = plan_for(self, job_json);
      if (!plan)
        return std::move(plan.error());
      if (auto err = check_threads(self, (*plan)->cfg))
        return err;
      if (auto err = connect_peers(self, peers)) {
        log(self, "job refused: " + describe(err)); // herd run says it too; here it is kept
        return err;
      }
      const auto& cfg = (*plan)->cfg;
      bool hosts_workers = false;
      for (const auto& w : cfg.workers)
        hosts_workers |= w.node == self->state.setup.name;
      auto rp = self->make_response_promise();
      auto attached = [=, name = cfg.name,
                       blas = cfg.training.blas_threads](const caf::error& err) mutable {
        if (err)
          return rp.deliver(err);
        if (auto busy = other_job(self, sup)) // attached by another while the data loaded
          return rp.deliver(busy);
        if (!self->state.setup.job) // a daemon: the job's BLAS threads (herd run sets its own)
          kernels::set_blas_threads(blas);
        self->state.supervisor = sup;
        self->monitor(sup);
        log(self, "job " + name + " attached (supervisor " + caf::to_string(sup.address())
                    + ")");
        rp.deliver(true);
      };
      if (hosts_workers)
        with_data(self, cfg, std::move(attached));
      else
        attached({});
      return rp;
    },
    [=](detach_atom) {
      // Only from the job's own supervisor: a second `herd run` that this node refused also
      // sends detach to every node it asked, and must not end the job that runs here.
      auto from = caf::actor_cast<caf::actor_addr>(self->current_sender());
      if (self->state.supervisor && from == self->state.supervisor.address())
        end_job(self, "job detached");
      return true; // the supervisor's process waits for this before it ends
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
      auto rp = self->make_response_promise();
      auto held = std::make_shared<messages::worker_spec>(std::move(spec));
      // The job's set as read at its attach, even if the files changed since.
      with_data(
        self, (*plan)->cfg,
        [=](const caf::error& err) mutable {
          if (err)
            return rp.deliver(err);
          rp.deliver(spawn_worker(self, *held));
        },
        false);
      return rp;
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
    [=](loaded_atom) { load_done(self); },
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
  // Detached: connecting to the peers blocks (the training set loads in a helper).
  return sys.spawn<caf::detached>(node_behavior, std::move(setup));
}

} // namespace herd::actors
