#include "actors/supervisor.hpp"

#include <limits>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/consistency.hpp"
#include "actors/evaluator.hpp"
#include "actors/shard.hpp"
#include "actors/supervisor_state.hpp"
#include "actors/worker.hpp"
#include "messages/atoms.hpp"
#include "messages/payload_codec.hpp"
#include "messages/types.hpp"
#include "model/mlp.hpp"
#include "model/slices.hpp"

namespace herd::actors {

namespace {

using messages::payload;

constexpr std::chrono::minutes request_timeout{5};

struct supervisor_actor_state {
  job_inputs in;
  job_callbacks cb;
  std::unique_ptr<supervisor_state> core;
  std::shared_ptr<const model::mlp> net;
  std::vector<model::slice> slices;
  std::vector<caf::actor> shards;
  std::map<caf::actor_addr, uint32_t> worker_ids;
  std::map<uint32_t, caf::actor> workers;
  caf::actor evaluator;
  caf::response_promise done;
  bool ending = false;
  double train_s = 0; // training time at the end (before the final evaluation)
  static inline const char* name = "herd.supervisor";
};

using supervisor_self = caf::stateful_actor<supervisor_actor_state>*;

void log(supervisor_self self, const std::string& line) {
  if (self->state.cb.on_log)
    self->state.cb.on_log(line);
}

void shut_down(supervisor_self self, caf::error reason) {
  auto& st = self->state;
  for (auto& s : st.shards)
    self->send_exit(s, caf::exit_reason::user_shutdown);
  if (st.evaluator)
    self->send_exit(st.evaluator, caf::exit_reason::user_shutdown);
  for (auto& [addr, id] : st.worker_ids)
    self->send_exit(addr, caf::exit_reason::user_shutdown);
  if (reason && st.done.pending())
    st.done.deliver(reason);
  self->quit();
}

void fail_job(supervisor_self self, caf::error err) {
  if (self->state.ending && !self->state.done.pending())
    return;
  self->state.ending = true;
  shut_down(self, std::move(err));
}

// Optimizer steps each shard will take over the job (for the learning-rate schedule).
uint64_t optimizer_horizon(const config::job_config& cfg, size_t samples) {
  auto workers = uint64_t(cfg.workers.size());
  uint64_t steps = uint64_t(cfg.training.max_steps);
  if (steps == 0) {
    auto per_step = uint64_t(cfg.training.batch_size) * workers;
    steps = (uint64_t(cfg.training.epochs) * samples + per_step - 1) / per_step;
  }
  // BSP aggregates one update per clock; SSP and ASP apply every worker's push.
  return cfg.consistency.model == config::consistency_model::bsp ? steps : steps * workers;
}

void spawn_job(supervisor_self self) {
  auto& st = self->state;
  auto& cfg = st.in.cfg;
  auto& sys = self->system();
  st.net = std::make_shared<model::mlp>(cfg.model.layers);
  std::vector<float> init(st.net->param_count());
  st.net->init(init.data(), cfg.model.init_seed);
  st.slices = model::partition(init.size(), cfg.shards.size());
  auto rule = rule_of(cfg.consistency.model, cfg.consistency.staleness,
                      cfg.consistency.staleness_aware);
  auto horizon = optimizer_horizon(cfg, st.in.train->count);
  if (!st.in.codecs)
    st.in.codecs = std::make_shared<kernels::compress::codec_registry>(
      kernels::compress::default_codecs());
  // Under DGC momentum correction the momentum (Nesterov or not) lives on the workers: shards
  // run plain SGD.
  auto shard_optimizer = cfg.optimizer;
  if (cfg.compression.momentum_correction) {
    shard_optimizer.momentum = 0;
    shard_optimizer.nesterov = false;
  }
  shard_options opts;
  opts.codecs = st.in.codecs;
  opts.pull_format = cfg.compression.pull == config::pull_format::fp16   ? messages::dense_format::f16
                     : cfg.compression.pull == config::pull_format::bf16 ? messages::dense_format::bf16
                                                                         : messages::dense_format::f32;
  for (uint32_t i = 0; i < st.slices.size(); ++i) {
    auto s = st.slices[i];
    std::vector<float> part(init.begin() + s.offset, init.begin() + s.offset + s.count);
    auto core = std::make_shared<shard_state>(i, s.offset, std::move(part), shard_optimizer,
                                              rule, horizon);
    for (uint32_t w = 0; w < cfg.workers.size(); ++w)
      core->join(w, 0);
    auto shard = spawn_shard(sys, std::move(core), opts);
    self->monitor(shard);
    st.shards.push_back(shard);
  }
  evaluator_setup es{std::make_shared<evaluator_state>(st.net, st.in.test), st.shards,
                     st.slices, request_timeout};
  st.evaluator = spawn_evaluator(sys, std::move(es));
  self->monitor(st.evaluator);
  st.core->start_clock();
  for (uint32_t w = 0; w < cfg.workers.size(); ++w) {
    worker_setup ws;
    ws.state = std::make_shared<worker_state>(w, st.net, st.in.train, st.slices,
                                              cfg.training.batch_size);
    ws.shards = st.shards;
    ws.supervisor = caf::actor_cast<caf::actor>(self);
    ws.max_steps = static_cast<uint64_t>(cfg.training.max_steps);
    ws.straggler = cfg.workers[w].straggler;
    ws.seed = cfg.training.seed;
    if (cfg.precision.compute == config::compute_precision::bf16)
      ws.half = kernels::half_format::bf16;
    else if (cfg.precision.compute == config::compute_precision::fp16)
      ws.half = kernels::half_format::fp16;
    ws.timeout = request_timeout;
    ws.encoder = std::make_shared<gradient_encoder>(*st.in.codecs, cfg.compression,
                                                    cfg.optimizer, st.slices,
                                                    cfg.training.seed, w);
    auto worker = spawn_worker(sys, std::move(ws));
    self->monitor(worker);
    st.worker_ids.emplace(worker.address(), w);
    st.workers.emplace(w, worker);
    st.core->add_worker(w);
  }
  log(self, "job started: " + std::to_string(cfg.shards.size()) + " shard(s), "
              + std::to_string(cfg.workers.size()) + " worker(s), "
              + std::to_string(st.net->param_count()) + " parameters, " + rule_name(rule));
}

/// Tells every shard to use `rule` from now on.
void set_consistency(supervisor_self self, const consistency_rule& rule) {
  auto& st = self->state;
  for (auto& shard : st.shards)
    self->request(shard, request_timeout, consist_atom::value, to_message(rule))
      .then([](uint64_t) {}, [=](caf::error& err) { fail_job(self, std::move(err)); });
  log(self, "consistency: " + rule_name(rule) + " from clock "
              + std::to_string(st.core->max_clock()));
}

void maybe_finish(supervisor_self self);

// Gathers the counters and the final parameters from every shard, then answers run_job.
void deliver_result(supervisor_self self) {
  auto& st = self->state;
  auto result = std::make_shared<job_result>(st.core->result());
  auto train_s = st.train_s;
  result->wall_s = train_s;
  result->samples_per_s = train_s > 0 ? double(result->samples) / train_s : 0;
  result->steps_per_s = train_s > 0 ? double(result->steps) / train_s : 0;
  result->params.resize(st.net->param_count());
  result->shards.resize(st.shards.size());
  auto staleness = std::make_shared<staleness_histogram>();
  auto awaiting = std::make_shared<size_t>(2 * st.shards.size());
  auto one_done = [=] {
    if (--*awaiting > 0)
      return;
    result->staleness_p50 = staleness->quantile(0.5);
    result->staleness_p99 = staleness->quantile(0.99);
    result->staleness_max = staleness->max();
    self->state.done.deliver(std::move(*result));
    shut_down(self, caf::error{});
  };
  for (uint32_t i = 0; i < st.shards.size(); ++i) {
    self->request(st.shards[i], request_timeout, snapshot_atom::value)
      .then(
        [=](const payload& p) {
          auto& s = self->state.slices[i];
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
  auto e = self->state.core->eval_done(r);
  if (self->state.cb.on_eval)
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
  req.deferred = st.in.cfg.training.evaluation == config::eval_mode::deferred;
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
        self->state.core->eval_failed();
        log(self, "evaluation failed: " + describe(err));
        maybe_finish(self);
      });
}

void maybe_finish(supervisor_self self) {
  auto& st = self->state;
  // One evaluation at a time: a periodic one in flight calls back here when it ends.
  if (st.ending || !st.core->all_finished() || st.core->eval_in_flight())
    return;
  st.ending = true;
  st.train_s = st.core->elapsed_s();
  auto clock = st.core->min_clock();
  log(self, "training finished at clock " + std::to_string(clock) + "; final evaluation");
  // Every pull is ready now that all workers have left.
  request_eval(self, clock, true);
}

void on_down(supervisor_self self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto it = st.worker_ids.find(dm.source);
  if (it != st.worker_ids.end()) {
    auto id = it->second;
    st.worker_ids.erase(it);
    if (!st.core->is_worker(id) || dm.reason == caf::exit_reason::normal)
      return;
    auto back = st.core->worker_lost(id);
    st.workers.erase(id);
    for (auto& s : st.shards) // a request: the shard answers with its version
      self->request(s, request_timeout, leave_atom::value, id)
        .then([](uint64_t) {}, [=](caf::error& err) { fail_job(self, std::move(err)); });
    log(self, "worker " + std::to_string(id) + " failed (" + describe(dm.reason) + "); "
                + std::to_string(back) + " chunk(s) returned to the dispenser");
    if (st.core->all_finished())
      return fail_job(self, make_error(errc::actor_failed,
                                       "every worker failed; last: worker " + std::to_string(id)
                                         + ": " + describe(dm.reason)));
    return maybe_finish(self);
  }
  if (st.ending && !st.done.pending())
    return;
  fail_job(self, make_error(errc::actor_failed, "a shard or the evaluator ("
                                                  + caf::to_string(dm.source) + ") ended: "
                                                  + describe(dm.reason)));
}

caf::behavior supervisor_behavior(supervisor_self self, job_inputs in, job_callbacks cb) {
  auto& st = self->state;
  st.in = std::move(in);
  st.cb = std::move(cb);
  st.core = std::make_unique<supervisor_state>(st.in.cfg, st.in.train->count);
  self->set_default_handler(caf::print_and_drop);
  self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
  return {
    [=](start_atom) {
      self->state.done = self->make_response_promise();
      spawn_job(self);
      if (self->state.cb.on_start)
        self->state.cb.on_start(caf::actor_cast<caf::actor>(self));
      return self->state.done;
    },
    [=](chunk_atom, uint32_t worker, uint64_t finished_chunk) {
      return self->state.core->next_chunk(worker, finished_chunk);
    },
    [=](progress_atom, const messages::step_report& r) {
      auto& st = self->state;
      auto p = st.core->on_report(r);
      if (st.cb.on_progress)
        st.cb.on_progress(p);
      while (auto sw = st.core->switch_due())
        set_consistency(self, rule_of(sw->model, sw->staleness,
                                      st.in.cfg.consistency.staleness_aware));
      if (st.core->eval_due())
        request_eval(self, p.clock, false);
    },
    [=](finished_atom, uint32_t worker, uint64_t clock, uint64_t finished_chunk) {
      auto& st = self->state;
      st.core->chunk_done(worker, finished_chunk);
      // A worker removed mid-chunk hands the rest of its data back.
      auto back = st.core->worker_lost(worker);
      st.workers.erase(worker);
      if (back > 0)
        log(self, "worker " + std::to_string(worker) + " left at clock " + std::to_string(clock)
                    + "; " + std::to_string(back) + " chunk(s) returned to the dispenser");
      maybe_finish(self);
    },
    [=](remove_atom, uint32_t worker) -> caf::result<bool> {
      auto& st = self->state;
      auto it = st.workers.find(worker);
      if (it == st.workers.end())
        return make_error(errc::invalid_argument,
                          "no active worker " + std::to_string(worker));
      // Graceful: the worker finishes its step, pushes, then leaves every shard.
      self->send(it->second, stop_atom::value);
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
  };
}

} // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, job_inputs in, job_callbacks cb) {
  return sys.spawn(supervisor_behavior, std::move(in), std::move(cb));
}

} // namespace herd::actors
