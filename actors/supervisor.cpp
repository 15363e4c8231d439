#include "actors/supervisor.hpp"

#include <chrono>
#include <cstdio>
#include <functional>
#include <limits>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/consistency.hpp"
#include "actors/exception_exit.hpp"
#include "actors/supervisor_actor.hpp"
#include "messages/atoms.hpp"
#include "messages/payload_codec.hpp"
#include "messages/types.hpp"

namespace herd::actors {

namespace {

using messages::payload;

// How long the end of a job waits for each node to acknowledge the detach.
constexpr auto detach_timeout = std::chrono::seconds(3);

// Ends the job's actors and detaches every live node; once each has acknowledged (or not
// within detach_timeout) `deliver` answers run_job and the supervisor quits. Answering first
// would let `herd run` exit before the nodes hear of the end: they would see the supervisor
// vanish instead of a detach.
void shut_down(supervisor_self self, std::function<void()> deliver) {
  auto& st = self->state;
  if (st.shutting_down)
    return;
  st.shutting_down = true;
  for (auto& s : st.shards)
    if (s)
      self->send_exit(s, caf::exit_reason::user_shutdown);
  if (st.evaluator)
    self->send_exit(st.evaluator, caf::exit_reason::user_shutdown);
  for (auto& [addr, id] : st.worker_ids)
    self->send_exit(addr, caf::exit_reason::user_shutdown);
  // From now on only the detach replies matter: the ends of the job's actors are expected.
  self->set_down_handler([](caf::down_msg&) {});
  self->set_default_handler(caf::drop);
  self->become([](detach_atom) {});
  std::vector<caf::actor> live;
  for (auto& [name, node] : st.nodes)
    if (st.dead_nodes.count(name) == 0)
      live.push_back(node);
  auto end = [=] {
    self->state.ckpt_dir.release(); // before the answer: a next job of this process may take it
    deliver();
    self->quit();
  };
  if (live.empty())
    return end();
  auto acknowledged = countdown(live.size(), end);
  for (auto& node : live)
    self->request(node, detach_timeout, detach_atom::value)
      .then([=](bool) { acknowledged(); }, [=](caf::error&) { acknowledged(); });
}

} // namespace

void log(supervisor_self self, const std::string& line) {
  if (self->state.cb.on_log)
    self->state.cb.on_log(line);
}

void fail_job(supervisor_self self, caf::error err) {
  if (self->state.shutting_down)
    return;
  self->state.ending = true;
  shut_down(self, [=] {
    if (self->state.done.pending())
      self->state.done.deliver(err);
  });
}

/// Tells every shard to use `rule` from now on.
void set_consistency(supervisor_self self, const consistency_rule& rule) {
  auto& st = self->state;
  if (rule_name(rule) != rule_name(st.rule))
    st.rule_changed = true;
  st.rule = rule;
  for (auto& shard : st.shards)
    self->request(shard, request_timeout, consist_atom::value, to_message(rule))
      .then([](uint64_t) {}, [=](caf::error& err) { fail_job(self, std::move(err)); });
  log(self, "consistency: " + rule_name(rule) + " from clock "
              + std::to_string(st.core->max_clock()));
}

namespace {

// Gathers the counters and the final parameters from every shard, then answers run_job.
void deliver_result(supervisor_self self) {
  auto& st = self->state;
  auto result = std::make_shared<job_result>(st.core->result());
  auto train_s = st.train_s;
  result->wall_s = train_s;
  result->stopped = st.stop_requested;
  // Rates count from the start, or from the resume (samples and steps are the job's totals).
  result->samples_per_s = train_s > 0 ? double(st.core->samples_since_start()) / train_s : 0;
  result->steps_per_s = train_s > 0 ? double(st.core->steps_since_start()) / train_s : 0;
  result->params.resize(st.plan.net->param_count());
  result->shards.resize(st.shards.size());
  auto staleness = std::make_shared<staleness_histogram>();
  auto awaiting = std::make_shared<size_t>(2 * st.shards.size());
  auto one_done = [=] {
    if (--*awaiting > 0)
      return;
    result->staleness_p50 = staleness->quantile(0.5);
    result->staleness_p99 = staleness->quantile(0.99);
    result->staleness_max = staleness->max();
    shut_down(self, [=] { self->state.done.deliver(std::move(*result)); });
  };
  for (uint32_t i = 0; i < st.shards.size(); ++i) {
    self->request(st.shards[i], request_timeout, snapshot_atom::value)
      .then(
        [=](const payload& p) {
          auto& s = self->state.plan.slices[i];
          messages::slice_expectation want{i, s.offset, static_cast<uint32_t>(s.count)};
          auto h = messages::decode_slice(p.bytes, want, result->params.data() + s.offset);
          if (!h)
            return fail_job(self, std::move(h.error()));
          one_done();
        },
        [=](caf::error& err) { fail_job(self, std::move(err)); });
    self->request(st.shards[i], request_timeout, stats_atom::value)
      .then(
        [=](const messages::shard_stats& s) {
          result->shards[i] = shard_summary{s.version,       s.pushes,
                                            s.refused,       s.waiting_pulls,
                                            s.open_rounds,   s.waiting_pulls_max,
                                            s.open_rounds_max, s.decoded,
                                            s.decode_ns};
          result->decode_ns += s.decode_ns;
          staleness->merge(s.staleness_counts, s.staleness_max);
          one_done();
        },
        [=](caf::error& err) { fail_job(self, std::move(err)); });
  }
}

void record_eval(supervisor_self self, const messages::eval_report& r) {
  // The final evaluation repeats the last periodic one when that was at the same clock on the
  // same parameters (BSP, eval_every dividing the last clock): one point, not two.
  bool repeated = false;
  auto e = self->state.core->eval_done(r, &repeated);
  if (self->state.cb.on_eval && !repeated)
    self->state.cb.on_eval(e);
}

// Evaluates the snapshots kept in deferred mode, in clock order, then delivers the result.
void flush_and_deliver(supervisor_self self) {
  self->request(self->state.evaluator, caf::infinite, flush_atom::value)
    .then(
      [=](const std::vector<messages::eval_report>& reports) {
        for (const auto& r : reports)
          record_eval(self, r);
        deliver_result(self);
      },
      [=](caf::error& err) { fail_job(self, std::move(err)); });
}

void request_eval(supervisor_self self, uint64_t clock, bool final) {
  auto& st = self->state;
  messages::eval_request req;
  req.clock = clock;
  req.samples_seen = st.core->samples();
  req.train_s = final ? st.train_s : st.core->elapsed_s();
  if (auto m = st.core->mark_at(clock); m && !final) { // when the slowest worker reached it
    req.samples_seen = m->samples;
    req.train_s = m->at_s;
  }
  req.deferred = st.in.cfg.training.evaluation == config::eval_mode::deferred;
  // The shards keep the parameters of each multiple of eval_every, by clock (job_parts.cpp
  // make_shard, shard_state::keep_every), while BSP or SSP(0) has held throughout.
  req.exact = !final && versions_are_clocks(st.in.cfg) && !st.rule_changed;
  self->request(st.evaluator, request_timeout, eval_atom::value, req)
    .then(
      [=](const messages::eval_report& r) {
        if (r.accuracy < 0)
          self->state.core->snapshot_kept();
        else
          record_eval(self, r);
        if (!final)
          return maybe_finish(self);
        if (req.deferred)
          return flush_and_deliver(self);
        deliver_result(self);
      },
      [=](caf::error& err) {
        if (final)
          return fail_job(self, std::move(err));
        auto& st = self->state;
        st.core->eval_failed();
        if (code_of(err) != errc::snapshot_gone)
          log(self, "evaluation failed: " + describe(err));
        else if (st.evals_skipped++ == 0)
          log(self, describe(err) + " (further skips are not logged)");
        maybe_finish(self);
      });
}

} // namespace

void maybe_finish(supervisor_self self) {
  auto& st = self->state;
  // One evaluation at a time: a periodic one in flight calls back here when it ends. A worker
  // being restarted is not finished.
  if (st.ending || !st.core->all_finished() || st.core->eval_in_flight()
      || !st.restarting.empty())
    return;
  st.ending = true;
  st.train_s = st.core->elapsed_s();
  auto clock = st.core->min_clock();
  if (!st.core->data_used_up() && !st.stop_requested && st.in.cfg.training.max_steps == 0) {
    auto total = st.core->samples_total();
    log(self, "every worker was removed before the data was used up: "
                + std::to_string(st.core->samples_done())
                + (total > 0 ? " of " + std::to_string(total) : std::string{})
                + " samples trained");
  }
  log(self, "training finished at clock " + std::to_string(clock) + "; final evaluation");
  // Every pull is ready now that all workers have left.
  if (st.in.cfg.checkpoint.every > 0 && !st.ckpt_clock
      && st.last_ckpt != st.core->max_clock()) // the last checkpoint holds the final state
    return save_checkpoint(self, [=] { request_eval(self, clock, true); });
  request_eval(self, clock, true);
}

void maybe_finish_after_loss(supervisor_self self, uint32_t id) {
  auto& st = self->state;
  // A worker that failed with no chunk in hand after the data was used up lost nothing.
  if (!st.core->all_finished() || !st.restarting.empty() || st.core->data_used_up()
      || st.stop_requested) // stopping: the job ends with what it trained
    return maybe_finish(self);
  if (st.workers_done == 0)
    return fail_job(self, make_error(errc::actor_failed,
                                     "every worker failed; last: worker " + std::to_string(id)));
  auto total = st.core->samples_total();
  fail_job(self, make_error(errc::actor_failed,
                            "worker " + std::to_string(id) + " failed after the other workers "
                              "ended and cannot be restarted (supervisor.restart, "
                              "max_restarts); no worker is left for the rest of the data: "
                              + std::to_string(st.core->samples_done())
                              + (total > 0 ? " of " + std::to_string(total) : std::string{})
                              + " samples trained"));
}

namespace {

// The current message comes from an actor of the job before a roll-back.
bool is_retired(supervisor_self self) {
  auto& retired = self->state.retired;
  return !retired.empty()
         && retired.count(caf::actor_cast<caf::actor_addr>(self->current_sender())) > 0;
}

void on_down(supervisor_self self, const caf::down_msg& dm) {
  auto& st = self->state;
  if (st.retired.erase(dm.source) > 0)
    return; // an actor of the job before it rolled back
  auto it = st.worker_ids.find(dm.source);
  if (it != st.worker_ids.end()) {
    auto id = it->second;
    st.worker_ids.erase(it);
    if (!st.core->is_worker(id) || dm.reason == caf::exit_reason::normal)
      return;
    if (st.plan.pipelined())
      return stage_lost(self, id, dm.reason);
    auto back = st.core->worker_lost(id);
    st.workers.erase(id);
    for (auto& s : st.shards) // a request: the shard answers with its version
      self->request(s, request_timeout, leave_atom::value, id)
        .then([](uint64_t) {},
              [=](caf::error& err) { // the shard may have gone with the same node
                log(self, "worker " + std::to_string(id) + " could not leave a shard: "
                            + describe(err));
              });
    // After the leaves: a checkpoint it completes reaches each shard behind them (one sender,
    // one receiver: in order), so no snapshot lists the lost worker or its open round.
    checkpoint_worker_gone(self, id);
    // What its step reports counted of its chunk is done: only the rest goes back.
    log(self, "worker " + std::to_string(id) + " failed (" + describe(dm.reason) + "); "
                + (back == 0 ? std::string("it held no untrained data")
                             : "the untrained rest of " + std::to_string(back)
                                 + " chunk(s) returned to the dispenser"));
    const auto& sup = st.in.cfg.supervisor;
    if (st.removing.count(id) > 0)
      log(self, "worker " + std::to_string(id) + " is not restarted: it was being removed");
    else if (sup.restart != config::restart_policy::never && st.restarts[id] < sup.max_restarts
             && !st.ending && !st.stop_requested) {
      auto n = ++st.restarts[id];
      st.restarting.insert(id);
      st.failed_at_s[id] = st.core->elapsed_s();
      // Backoff: 100 ms, doubling per restart of the same worker.
      auto delay = std::chrono::milliseconds(100 << std::min(n - 1, 6));
      self->delayed_send(self, delay, restart_atom::value, id);
      return;
    }
    return maybe_finish_after_loss(self, id);
  }
  if (st.ending && !st.done.pending())
    return;
  for (auto& [name, node] : st.nodes)
    if (dm.source == node.address()) {
      // Its shards and workers report their own loss; the node is not used again.
      st.dead_nodes.insert(name);
      log(self, "node " + name + " lost (" + describe(dm.reason) + ")"
                  + (st.cb.reconnect ? "; it rejoins if its daemon starts again" : ""));
      if (st.dead_nodes.size() >= st.nodes.size())
        return fail_job(self, make_error(errc::actor_failed,
                                         "every node of the job is lost; node " + name
                                           + " was the last"));
      // Placing the job (at its start or after a roll-back): a spawn asked of this node would
      // wait for its timeout (minutes), as would the job.
      if (!st.started)
        for (const auto& s : st.in.cfg.shards)
          if (s.node == name)
            return fail_job(self, make_error(errc::actor_failed,
                                             "node " + name + " lost while the job's shards "
                                             "were being placed on it"));
      dial_lost_node(self, name);
      return;
    }
  for (uint32_t i = 0; i < st.shards.size(); ++i)
    if (st.shards[i] && dm.source == st.shards[i].address() && st.started)
      return roll_back(self, i, dm.reason);
  if (code_of(dm.reason) == errc::actor_failed) // it names itself ("the evaluator failed: ...")
    return fail_job(self, dm.reason);
  auto who = dm.source == st.evaluator.address() ? std::string("the evaluator")
                                                 : "a shard (" + caf::to_string(dm.source) + ")";
  fail_job(self, make_error(errc::actor_failed, who + " ended: " + describe(dm.reason)));
}

caf::behavior supervisor_behavior(supervisor_self self, job_inputs in,
                                  std::map<std::string, caf::actor> nodes, job_callbacks cb) {
  auto& st = self->state;
  st.in = std::move(in);
  st.cb = std::move(cb);
  st.nodes = std::move(nodes);
  if (!st.in.codecs)
    st.in.codecs = std::make_shared<kernels::compress::codec_registry>(
      kernels::compress::default_codecs());
  st.core = std::make_unique<supervisor_state>(st.in.cfg, st.in.train->count);
  self->set_default_handler(caf::print_and_drop);
  self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
  // An exception here (std::bad_alloc for a model that barely fits) ends the job with its text;
  // the supervisor would otherwise end holding run_job's answer, and herd run wait forever.
  self->set_exception_handler([=](std::exception_ptr& eptr) -> caf::error {
    auto err = exception_error("the supervisor", eptr);
    if (self->state.done.pending())
      self->state.done.deliver(err);
    return err;
  });
  return {
    [=](start_atom) {
      self->state.done = self->make_response_promise();
      spawn_job(self);
      return self->state.done;
    },
    [=](chunk_atom, uint32_t worker,
        uint64_t finished_chunk) -> caf::result<messages::data_chunk> {
      if (is_retired(self))
        return make_error(errc::actor_failed, "this worker belongs to a rolled-back job");
      return self->state.core->next_chunk(worker, finished_chunk);
    },
    [=](progress_atom, const messages::step_report& r) {
      auto& st = self->state;
      if (is_retired(self))
        return;
      if (r.committed_chunk != UINT64_MAX) // a pipeline replica committed it
        st.core->chunk_done(r.worker, r.committed_chunk);
      auto p = st.core->on_report(r);
      if (auto f = st.failed_at_s.find(r.worker); f != st.failed_at_s.end()) {
        char line[160];
        std::snprintf(line, sizeof line, "worker %u recovered: stepping again %.2f s after it "
                                         "failed", r.worker, st.core->elapsed_s() - f->second);
        log(self, line);
        st.failed_at_s.erase(f);
      }
      if (st.cb.on_progress)
        st.cb.on_progress(p);
      while (auto sw = st.core->switch_due())
        set_consistency(self, rule_of(sw->model, sw->staleness,
                                      st.in.cfg.consistency.staleness_aware));
      if (st.core->eval_due()) { // at the multiple of eval_every just passed (shards kept it)
        auto every = static_cast<uint64_t>(st.in.cfg.training.eval_every);
        request_eval(self, p.clock / every * every, false);
      }
    },
    [=](finished_atom, uint32_t worker, uint64_t clock, uint64_t finished_chunk,
        uint64_t open_chunk, uint64_t trained) {
      auto& st = self->state;
      if (is_retired(self))
        return;
      st.core->chunk_done(worker, finished_chunk);
      // A worker removed mid-chunk hands back the part of its chunk it has not trained.
      st.core->chunk_consumed(worker, open_chunk, trained);
      auto back = st.core->worker_lost(worker);
      st.workers.erase(worker);
      checkpoint_worker_gone(self, worker);
      ++st.workers_done;
      // Stopped workers end mid-chunk too, as do those at max_steps; only a removed one "left".
      auto max_steps = st.in.cfg.training.max_steps;
      auto ended = st.stop_requested                          ? " stopped at clock "
                   : max_steps > 0 && clock >= uint64_t(max_steps) ? " reached max_steps at clock "
                                                                   : " left at clock ";
      log(self, "worker " + std::to_string(worker)
                  + (back > 0 ? ended + std::to_string(clock) + "; the untrained rest of "
                                  + std::to_string(back) + " chunk(s) returned to the dispenser"
                              : " finished at clock " + std::to_string(clock)));
      maybe_finish(self);
    },
    [=](remove_atom, uint32_t worker) -> caf::result<bool> {
      auto& st = self->state;
      if (st.plan.pipelined())
        return make_error(errc::invalid_argument,
                          "worker " + std::to_string(worker) + " is a pipeline stage: a pipeline "
                          "job shrinks by whole replicas, which remove-worker cannot do yet");
      auto it = st.workers.find(worker);
      if (it == st.workers.end())
        return make_error(errc::invalid_argument,
                          "no active worker " + std::to_string(worker));
      // Graceful: the worker finishes its step, pushes, then leaves every shard.
      self->send(it->second, stop_atom::value);
      st.removing.insert(worker);
      log(self, "removing worker " + std::to_string(worker));
      return true;
    },
    [=](consist_atom, const messages::consistency_msg& m) -> caf::result<bool> {
      auto rule = rule_from(m);
      if (!rule)
        return std::move(rule.error());
      set_consistency(self, *rule);
      return true;
    },
    [=](held_atom, const messages::worker_place& at) {
      if (!is_retired(self))
        checkpoint_held(self, at);
    },
    [=](restart_atom, uint32_t id) { restart_worker(self, id); },
    [=](rejoin_atom, const std::string& node) { dial_lost_node(self, node); },
    [=](rejoin_atom, const std::string& node, caf::actor& h) {
      node_dialled(self, node, std::move(h));
    },
    [=](rejoin_atom, const std::string& node, caf::error& err) {
      node_dialled(self, node, std::move(err));
    },
    [=](ctl_atom, const messages::ctl_request& req) {
      auto rp = self->make_response_promise();
      handle_ctl(self, req, rp);
      return rp;
    },
  };
}

} // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, job_inputs in,
                            std::map<std::string, caf::actor> nodes, job_callbacks cb) {
  return sys.spawn(supervisor_behavior, std::move(in), std::move(nodes), std::move(cb));
}

} // namespace herd::actors
