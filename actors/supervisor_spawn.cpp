// Placing the job's shards and workers on its nodes, and workers added while it runs.
#include <algorithm>
#include <cstdio>

#include <caf/event_based_actor.hpp>

#include "actors/checkpoint_dir.hpp"
#include "actors/consistency.hpp"
#include "actors/evaluator.hpp"
#include "actors/supervisor_actor.hpp"
#include "config/job_parse.hpp"
#include "messages/atoms.hpp"

namespace herd::actors {

namespace {

caf::actor node_named(supervisor_self self, const std::string& name) {
  auto it = self->state.nodes.find(name);
  return it == self->state.nodes.end() ? caf::actor{} : it->second;
}

} // namespace

// `preferred` when it is connected and alive, else the first live node ("" when none).
std::string live_node(supervisor_self self, const std::string& preferred) {
  auto& st = self->state;
  if (node_named(self, preferred) && st.dead_nodes.count(preferred) == 0)
    return preferred;
  for (auto& [name, h] : st.nodes)
    if (st.dead_nodes.count(name) == 0)
      return name;
  return {};
}

void leave_shard(supervisor_self self, const caf::actor& shard, uint32_t id) {
  self->request(shard, request_timeout, leave_atom::value, id)
    .then([](uint64_t) {},
          [=](caf::error& err) { // the shard may have gone with its node
            log(self, "worker " + std::to_string(id) + " could not leave a shard: "
                        + describe(err));
          });
}

void place_worker(supervisor_self self, const std::string& node, uint32_t id, uint64_t clock,
                  std::function<void()> placed, messages::worker_place start, caf::actor next,
                  std::function<void(const caf::error&)> refused) {
  auto& st = self->state;
  st.worker_nodes[id] = node;
  messages::worker_spec spec{st.job_json, id, clock, st.shards,
                             caf::actor_cast<caf::actor>(self), std::move(start),
                             static_cast<uint32_t>(st.restarts[id]), st.device_of(id),
                             std::move(next)};
  self->request(node_named(self, node), request_timeout, spawn_worker_atom::value, spec)
    .then(
      [=](caf::actor& w) {
        auto& st = self->state;
        st.worker_ids.emplace(w.address(), id);
        if (st.core->is_active(id)) // a short job's worker may be done already
          st.workers.emplace(id, w);
        // A checkpoint began while it was being placed (a restart, a replica): it holds too,
        // at the checkpoint's clock or, joined past it, at once where it starts.
        if (st.ckpt_clock)
          send_hold(self, id, w, *st.ckpt_clock);
        // A stop that came before this reply missed it (a pipeline replica: at its head).
        if (st.stop_requested && (!st.plan.pipelined() || st.plan.stage_of(id) == 0))
          self->send(w, stop_atom::value);
        self->monitor(w);
        placed();
      },
      [=](caf::error& err) {
        auto why = make_error(errc::actor_failed, "node " + node + " could not start worker "
                                                    + std::to_string(id) + ": " + describe(err));
        // An added worker the node refused (not timed out: it might start still): job goes on.
        if (refused && err != caf::sec::request_timeout)
          return refused(why);
        fail_job(self, why);
      });
}

namespace {

void place_workers(supervisor_self self) {
  auto& st = self->state;
  auto& cfg = st.in.cfg;
  evaluator_setup es{std::make_shared<evaluator_state>(st.plan.net, st.in.test), st.shards,
                     st.plan.slices, request_timeout};
  st.evaluator = spawn_evaluator(self->system(), std::move(es));
  self->monitor(st.evaluator);
  if (!st.on_start_called) // a roll-back keeps the job's clock running
    st.core->start_clock();
  auto started = [=] {
    auto& st = self->state;
    st.started = true;
    if (st.recovery_started_s) {
      char line[120];
      std::snprintf(line, sizeof line, "recovered: every shard and worker runs again %.2f s "
                                       "after the loss", st.core->elapsed_s() - *st.recovery_started_s);
      log(self, line);
      st.recovery_started_s.reset();
    }
    auto workers = st.workers.empty() ? st.in.cfg.workers.size() : st.workers.size();
    log(self, "job started: " + std::to_string(st.shards.size()) + " shard(s), "
                + std::to_string(workers) + " worker(s) on "
                + std::to_string(st.nodes.size() - st.dead_nodes.size()) + " node(s), "
                + std::to_string(st.plan.net->param_count()) + " parameters, "
                + rule_name(st.rule)); // the rule in force (a resumed job's is the checkpoint's)
    if (st.cb.on_start && !st.on_start_called)
      st.cb.on_start(caf::actor_cast<caf::actor>(self));
    st.on_start_called = true;
  };
  if (st.in.resume) // the workers of the checkpoint, where they stood
    return resume_workers(self, started);
  st.next_worker_id = static_cast<uint32_t>(cfg.workers.size());
  auto all_placed = countdown(cfg.workers.size(), started);
  if (st.plan.pipelined()) {
    for (uint32_t w = 0; w < cfg.workers.size(); ++w)
      st.core->add_worker(w);
    auto k = uint32_t(st.plan.stage_count());
    for (uint32_t r = 0; r < cfg.workers.size() / k; ++r)
      place_replica(self, r, 0, all_placed);
    return;
  }
  for (uint32_t w = 0; w < cfg.workers.size(); ++w) {
    st.core->add_worker(w);
    place_worker(self, cfg.workers[w].node, w, 0, all_placed);
  }
}

void place_shards(supervisor_self self) {
  auto& st = self->state;
  auto& cfg = st.in.cfg;
  st.shards.resize(cfg.shards.size());
  // Pipeline jobs: a shard's members are the stages (of every replica) that own its slice.
  std::vector<std::vector<uint32_t>> members(cfg.shards.size());
  for (uint32_t w = 0; w < cfg.workers.size(); ++w)
    for (auto i : st.plan.shards_of(w))
      members[i].push_back(w);
  auto horizon = optimizer_horizon(cfg, st.in.train->count);
  auto all_placed = countdown(cfg.shards.size(), [=] { place_workers(self); });
  for (uint32_t i = 0; i < cfg.shards.size(); ++i) {
    const auto& node = cfg.shards[i].node;
    messages::shard_spec spec{st.job_json, i, horizon, members[i], {}};
    if (st.in.resume)
      spec.snapshot = st.in.resume->shards.at(i);
    self->request(node_named(self, node), request_timeout, spawn_shard_atom::value, spec)
      .then(
        [=](caf::actor& shard) {
          self->monitor(shard);
          self->state.shards[i] = std::move(shard);
          all_placed();
        },
        [=](caf::error& err) {
          fail_job(self, make_error(errc::actor_failed, "node " + node + " could not start shard "
                                                          + std::to_string(i) + ": "
                                                          + describe(err)));
        });
  }
}

// Joins worker `id` to every shard at `clock`, then places it. Under BSP a shard refuses a
// clock whose round it applied meanwhile: the worker leaves those it joined and tries again.
using join_reply = std::function<void(expected<std::string>)>;

void join_new_worker(supervisor_self self, const std::string& node, uint32_t id,
                     join_reply rp, int attempts_left);

void join_at(supervisor_self self, const std::string& node, uint32_t id, uint64_t clock,
             join_reply rp, int attempts_left) {
  auto& st = self->state;
  auto failed = std::make_shared<caf::error>();
  auto all_in = countdown(st.shards.size(), [=]() mutable {
    auto& st = self->state;
    if (*failed) {
      for (auto& s : st.shards)
        leave_shard(self, s, id);
      if (attempts_left > 0)
        return join_new_worker(self, node, id, rp, attempts_left - 1);
      return rp(*failed);
    }
    st.core->add_worker(id, clock);
    auto refused = [=](const caf::error& err) mutable { // e.g. no thread left on its node
      auto& st = self->state;
      st.core->forget_worker(id);
      st.worker_nodes.erase(id);
      st.worker_devices.erase(id);
      for (auto& s : st.shards) // under BSP its rounds would wait for it
        leave_shard(self, s, id);
      rp(err);
    };
    place_worker(
      self, node, id, clock,
      [=]() mutable { rp("on node " + node + "; it joins at clock " + std::to_string(clock)); },
      {}, {}, refused);
  });
  for (auto& s : st.shards)
    self->request(s, request_timeout, join_atom::value, id, clock)
      .then([=](uint64_t) mutable { all_in(); },
            [=](caf::error& err) mutable {
              *failed = std::move(err);
              all_in();
            });
}

void join_new_worker(supervisor_self self, const std::string& node, uint32_t id,
                     join_reply rp, int attempts_left) {
  auto& st = self->state;
  auto highest = std::make_shared<uint64_t>(0);
  auto failed = std::make_shared<caf::error>();
  // Two clocks past the furthest member any shard knows: no round at that clock can be
  // complete yet (a worker is at most one push ahead of what every shard has seen). Shards
  // whose members all left know no clock: the furthest reported stands in, so the job's clock
  // never goes back (a job resumed from its end with more epochs).
  auto all_in = countdown(st.shards.size(), [=]() mutable {
    if (*failed)
      return rp(*failed);
    auto clock = std::max(*highest, self->state.core->max_clock()) + 2;
    join_at(self, node, id, clock, rp, attempts_left);
  });
  for (auto& s : st.shards)
    self->request(s, request_timeout, status_atom::value)
      .then(
        [=](uint64_t clock) mutable {
          *highest = std::max(*highest, clock);
          all_in();
        },
        [=](caf::error& err) mutable {
          *failed = std::move(err);
          all_in();
        });
}


// Joins and places added worker `id`; the ctl request gets the outcome.
void join_and_reply(supervisor_self self, const std::string& node, uint32_t id,
                    caf::response_promise rp) {
  join_new_worker(self, node, id,
                  [=](expected<std::string> r) mutable {
                    if (!r)
                      return rp.deliver(r.error());
                    log(self, "worker " + std::to_string(id) + " added " + *r);
                    rp.deliver("worker " + std::to_string(id) + " added " + *r);
                  },
                  2);
}

} // namespace

void join_file_workers(supervisor_self self, std::function<void()> started) {
  auto& st = self->state;
  const auto& cfg = st.in.cfg;
  auto all_placed = countdown(cfg.workers.size(), std::move(started));
  if (st.plan.pipelined()) {
    auto k = uint32_t(st.plan.stage_count());
    for (uint32_t r = 0; r < cfg.workers.size() / k; ++r)
      join_replica(self, r, [=](expected<uint64_t> clock) {
        if (!clock)
          return fail_job(self, clock.error());
        for (uint32_t s = 0; s < k; ++s)
          all_placed();
      });
    return;
  }
  for (uint32_t w = 0; w < cfg.workers.size(); ++w)
    join_new_worker(self, live_node(self, cfg.workers[w].node), w,
                    [=](expected<std::string> r) {
                      if (!r)
                        return fail_job(self, r.error());
                      all_placed();
                    },
                    2);
}

void spawn_job(supervisor_self self) {
  auto& st = self->state;
  auto& cfg = st.in.cfg;
  st.plan = plan_job(cfg);
  st.rule = rule_of(cfg.consistency.model, cfg.consistency.staleness,
                    cfg.consistency.staleness_aware);
  // Periodic checkpoints: the directory is this job's from the start (refused, bad input, when
  // another run uses it or an earlier one's checkpoints lie there); else from the first one.
  if (cfg.checkpoint.every > 0)
    if (auto err = hold_checkpoint_dir(st.ckpt_dir, config::checkpoint_dir(cfg),
                                       st.in.resume ? st.in.resume->source : ""))
      return fail_job(self, err);
  if (st.in.resume && !begin_resume(self))
    return;
  st.job_json = config::to_json(cfg);
  for (const auto& n : cfg.nodes)
    if (!node_named(self, n.name) && cfg.nodes.size() > 0) {
      bool used = std::any_of(cfg.shards.begin(), cfg.shards.end(),
                              [&](auto& s) { return s.node == n.name; })
                  || std::any_of(cfg.workers.begin(), cfg.workers.end(),
                                 [&](auto& w) { return w.node == n.name; });
      if (used)
        return fail_job(self, make_error(errc::invalid_argument,
                                         "node " + n.name + " is not connected"));
    }
  auto peers = node_peers(self);
  auto all_attached = countdown(st.nodes.size(), [=] { place_shards(self); });
  for (auto& [name, node] : st.nodes) {
    self->monitor(node);
    auto node_name = name;
    self->request(node, request_timeout, attach_atom::value, caf::actor_cast<caf::actor>(self),
                  st.job_json, peers)
      .then([=](bool) { all_attached(); },
            [=](caf::error& err) {
              fail_job(self, make_error(errc::actor_failed,
                                        describe(err).rfind("node " + node_name, 0) == 0
                                          ? describe(err) // it names itself
                                          : "node " + node_name + ": " + describe(err)));
            });
  }
}

std::vector<messages::peer> node_peers(supervisor_self self) {
  auto& st = self->state;
  std::vector<messages::peer> peers;
  if (st.nodes.size() > 1)
    for (const auto& n : st.in.cfg.nodes)
      if (node_named(self, n.name))
        peers.push_back(messages::peer{n.name, n.host, n.port});
  return peers;
}

void add_worker(supervisor_self self, const std::string& node, const std::string& device,
                caf::response_promise rp) {
  auto& st = self->state;
  if (st.ckpt_clock)
    return rp.deliver(make_error(errc::invalid_argument,
                                 "a checkpoint is being taken; add the worker after it"));
  if (!st.started || st.ending || st.stop_requested)
    return rp.deliver(make_error(errc::invalid_argument,
                                 st.stop_requested
                                   ? "the job is stopping"
                                   : "the job is not running (starting or ending)"));
  if (!node_named(self, node)) {
    std::string names;
    for (auto& [name, h] : st.nodes)
      names += (names.empty() ? "" : ", ") + name;
    return rp.deliver(
      make_error(errc::invalid_argument, "no node " + node + " in this job (nodes: " + names + ")"));
  }
  if (st.dead_nodes.count(node) > 0) // its daemon may be back: dialled once more, then added
    return when_rejoined(self, node, [=](const caf::error& err) mutable {
      if (!err)
        return add_worker(self, node, device, std::move(rp));
      rp.deliver(make_error(errc::invalid_argument, "node " + node + " is lost: " + describe(err)));
    });
  if (st.plan.pipelined()) { // one more replica: K stages, all on `node`
    if (device != "cpu")
      return rp.deliver(make_error(errc::invalid_argument,
                                   "add-worker --device " + device
                                     + ": pipeline stages compute on the CPU"));
    auto k = uint32_t(st.plan.stage_count());
    uint32_t first = (st.next_worker_id + k - 1) / k * k; // replica r's stages are r*K + s
    uint32_t r = first / k;
    st.next_worker_id = first + k;
    for (uint32_t s = first; s < first + k; ++s)
      st.worker_nodes[s] = node;
    return join_replica(self, r, [=](expected<uint64_t> clock) mutable {
      auto range = "workers " + std::to_string(first) + "-" + std::to_string(first + k - 1);
      if (!clock)
        return rp.deliver(make_error(errc::invalid_argument, "adding replica " + std::to_string(r)
                                                               + " (" + range + "): "
                                                               + describe(clock.error())));
      auto line = "replica " + std::to_string(r) + " (" + range + ") added on node " + node
                  + "; its stages join at clock " + std::to_string(*clock);
      log(self, line);
      rp.deliver(line);
    });
  }
  // The node checks the device first, so a worker it cannot run never joins the shards.
  self->request(node_named(self, node), request_timeout, device_atom::value, device)
    .then(
      [=](bool) mutable {
        auto& st = self->state;
        if (!st.started || st.ending || st.stop_requested) // while the node was asked
          return rp.deliver(make_error(errc::invalid_argument,
                                       "the job ended or is stopping; no worker added"));
        auto id = st.next_worker_id++;
        st.worker_devices[id] = device;
        join_and_reply(self, node, id, std::move(rp));
      },
      [=](caf::error& err) mutable {
        rp.deliver(make_error(code_of(err) == errc::none ? errc::invalid_argument : code_of(err),
                              "add-worker --node " + node + " --device " + device + ": "
                                + describe(err)));
      });
}

void roll_back(supervisor_self self, uint32_t lost_shard, const caf::error& reason) {
  auto& st = self->state;
  auto lost_line = "shard " + std::to_string(lost_shard) + " lost (" + describe(reason) + ")";
  // `herd ctl checkpoint` writes checkpoints also when periodic ones are off. Only this job's
  // (or those it resumed from there): another run's directory is not held.
  auto dir = config::checkpoint_dir(st.in.cfg);
  auto held = hold_checkpoint_dir(st.ckpt_dir, dir, st.in.resume ? st.in.resume->source : "");
  auto c = held ? expected<checkpoint>{held} : load_latest_checkpoint(dir);
  if (!c && st.in.cfg.checkpoint.every == 0 && !st.last_ckpt)
    return fail_job(self, make_error(errc::actor_failed,
                                     lost_line + " and no checkpoint to recover from "
                                                 "(checkpoints are off: /checkpoint/every is 0)"));
  if (!c)
    return fail_job(self, make_error(errc::actor_failed,
                                     lost_line + " and no checkpoint to recover from: "
                                       + describe(c.error())));
  auto& cfg = st.in.cfg;
  st.dead_nodes.insert(cfg.shards[lost_shard].node);
  auto lost = st.core->max_clock() > c->clock ? st.core->max_clock() - c->clock : 0;
  log(self, "shard " + std::to_string(lost_shard) + " lost with node "
              + cfg.shards[lost_shard].node + " (" + describe(reason)
              + "); rolling the job back to the checkpoint at clock " + std::to_string(c->clock)
              + ": " + std::to_string(lost) + " clock(s) lost");
  // The old actors end; their down messages are expected and ignored.
  auto retire = [&](const caf::actor& a) {
    if (!a)
      return;
    st.retired.insert(a.address());
    self->send_exit(a, caf::exit_reason::kill);
  };
  for (auto& s : st.shards)
    retire(s);
  retire(st.evaluator);
  for (auto& [id, w] : st.workers)
    retire(w);
  for (auto& [addr, id] : st.worker_ids)
    st.retired.insert(addr);
  st.shards.clear();
  st.evaluator = nullptr;
  st.workers.clear();
  st.worker_ids.clear();
  st.restarting.clear();
  st.removing.clear(); // the checkpoint's workers come back, as they were then
  st.failed_at_s.clear();
  for (auto& rp : st.ckpt_waiters)
    rp.deliver(make_error(errc::actor_failed, "a shard was lost during the checkpoint"));
  st.ckpt_waiters.clear();
  st.ckpt_held.clear();
  st.ckpt_clock.reset();
  st.ckpt_saving = false;
  st.core->reset_workers();
  st.started = false;
  // Shards of dead nodes move to live ones; the nodes rebuild them from the checkpoint.
  for (auto& s : cfg.shards)
    if (st.dead_nodes.count(s.node) > 0) {
      auto to = live_node(self, s.node);
      if (to.empty())
        return fail_job(self, make_error(errc::actor_failed, "no live node for the shards"));
      s.node = to;
    }
  st.recovery_started_s = st.core->elapsed_s();
  st.in.resume = std::make_shared<const checkpoint>(std::move(*c));
  if (begin_resume(self))
    place_shards(self);
}

void restart_worker(supervisor_self self, uint32_t id) {
  auto& st = self->state;
  if (st.ending || st.restarting.count(id) == 0) // ended, or rolled back meanwhile
    return;
  if (st.stop_requested) { // stopped during the backoff: the job ends without it
    if (st.plan.pipelined()) { // every stage of the replica waited for this restart
      auto k = uint32_t(st.plan.stage_count());
      for (uint32_t s = id / k * k; s < id / k * k + k; ++s)
        st.restarting.erase(s);
      log(self, "replica " + std::to_string(id / k) + " is not restarted: the job is stopping");
    } else {
      st.restarting.erase(id);
      log(self, "worker " + std::to_string(id) + " is not restarted: the job is stopping");
    }
    return maybe_finish(self);
  }
  if (st.plan.pipelined())
    return restart_replica(self, id / uint32_t(st.plan.stage_count()));
  // Its own node if it is still there, else the first live node.
  auto node = live_node(self, st.worker_nodes[id]);
  if (node.empty()) {
    st.restarting.erase(id);
    return fail_job(self, make_error(errc::actor_failed,
                                     "no live node to restart worker " + std::to_string(id)));
  }
  join_new_worker(self, node, id,
                  [=](expected<std::string> r) {
                    auto& st = self->state;
                    st.restarting.erase(id);
                    if (!r) {
                      log(self, "restarting worker " + std::to_string(id)
                                  + " failed: " + describe(r.error()));
                      return maybe_finish_after_loss(self, id);
                    }
                    log(self, "worker " + std::to_string(id) + " restarted (restart "
                                + std::to_string(st.restarts[id]) + ") " + *r);
                    maybe_finish(self); // it may have run out of data before its spawn reply
                  },
                  2);
}

} // namespace herd::actors
