#include "actors/supervisor_state.hpp"

#include <algorithm>

namespace herd::actors {

supervisor_state::supervisor_state(const config::job_config& cfg, size_t train_samples)
  : cfg_(cfg),
    train_samples_(train_samples),
    track_chunks_(cfg.parallelism.pipeline_stages <= 1),
    dispenser_(train_samples,
               // Pipeline replicas take one minibatch per chunk: a replica lost mid-minibatch
               // hands back exactly the minibatch it had not committed.
               size_t(cfg.training.batch_size)
                 * size_t(cfg.parallelism.pipeline_stages > 1 ? 1 : cfg.training.chunk_batches),
               cfg.training.seed, static_cast<uint32_t>(cfg.training.epochs)),
    next_eval_(static_cast<uint64_t>(cfg.training.eval_every)) {
}

double supervisor_state::elapsed_s() const {
  std::chrono::duration<double> dt = std::chrono::steady_clock::now() - start_;
  return dt.count();
}

messages::data_chunk supervisor_state::next_chunk(uint32_t worker, uint64_t finished_chunk) {
  dispenser_.done(worker, finished_chunk);
  messages::data_chunk out;
  if (auto c = dispenser_.next(worker)) {
    out.id = c->id;
    out.epoch = c->epoch;
    out.indices = std::move(c->indices);
  }
  if (auto it = workers_.find(worker); it != workers_.end() && track_chunks_) {
    it->second.open_chunk = out.indices.empty() ? no_chunk : out.id;
    it->second.open_trained = 0;
  }
  return out;
}

void supervisor_state::add_worker(uint32_t id, uint64_t clock) {
  workers_[id] = worker_info{clock, true};
}

void supervisor_state::resume_worker(uint32_t id, uint64_t clock, uint64_t chunk_id,
                                     uint64_t pos) {
  add_worker(id, clock);
  for (auto held : dispenser_.held_by(id))
    if (held != chunk_id)
      dispenser_.done(id, held);
  if (track_chunks_ && chunk_id != no_chunk) {
    workers_[id].open_chunk = chunk_id;
    workers_[id].open_trained = pos;
  }
}

void supervisor_state::chunk_consumed(uint32_t worker, uint64_t id, uint64_t samples) {
  dispenser_.consumed(worker, id, static_cast<size_t>(samples));
  if (auto it = workers_.find(worker); it != workers_.end())
    it->second.open_chunk = no_chunk; // what it said replaces what its reports counted
}

void step_rate::add(double now_s, uint64_t samples) {
  seen_.emplace_back(now_s, samples);
  if (seen_.size() > 1)
    after_front_ += samples;
  // The newest report at least window_s old stays as the baseline; bounded for bursts.
  while (seen_.size() > 2 && (seen_[1].first <= now_s - window_s || seen_.size() > 8192)) {
    seen_.pop_front();
    after_front_ -= seen_.front().second;
  }
}

double step_rate::per_s() const {
  if (seen_.size() < 2)
    return 0;
  auto span = seen_.back().first - seen_.front().first;
  return span >= min_span_s ? double(after_front_) / span : 0;
}

progress_info supervisor_state::on_report(const messages::step_report& r, double now_s) {
  auto it = workers_.find(r.worker);
  if (it != workers_.end()) {
    it->second.record(r, now_s);
    if (it->second.open_chunk != no_chunk)
      it->second.open_trained += r.samples;
  }
  max_clock_ = std::max(max_clock_, r.clock);
  samples_ += r.samples;
  // A step is a worker's minibatch; a pipeline replica's minibatch is one step, reported by
  // every stage but counted (and its skip, which only stage 0 reports) at stage 0.
  if (is_step(r.worker))
    ++steps_;
  skipped_ += r.skipped ? 1 : 0;
  bytes_.up_bytes += r.up_bytes;
  bytes_.up_dense_bytes += r.up_dense_bytes;
  bytes_.down_bytes += r.down_bytes;
  bytes_.down_dense_bytes += r.down_dense_bytes;
  bytes_.encode_ns += r.encode_ns;
  if (r.samples > 0) { // pipeline stages other than 0 report no samples and no loss
    loss_ema_ = have_loss_ ? 0.98 * loss_ema_ + 0.02 * r.loss : r.loss;
    have_loss_ = true;
  }
  progress_info p;
  p.clock = min_clock();
  if (auto every = uint64_t(std::max<int64_t>(0, cfg_.training.eval_every)); every > 0) {
    auto at = p.clock / every * every;
    if (at > 0 && (!mark_ || mark_->clock < at))
      mark_ = eval_mark{at, samples_, now_s};
  }
  p.epoch = dispenser_.epoch();
  if (cfg_.training.epochs > 0 && p.epoch >= uint32_t(cfg_.training.epochs))
    p.epoch = uint32_t(cfg_.training.epochs) - 1; // everything handed out: still the last one
  p.samples = samples_;
  p.loss = loss_ema_;
  p.elapsed_s = now_s;
  p.samples_per_s = p.elapsed_s > 0 ? double(samples_since_start()) / p.elapsed_s : 0;
  p.last_accuracy = evals_.empty() ? -1 : evals_.back().accuracy;
  return p;
}

void supervisor_state::worker_info::record(const messages::step_report& r, double now_s) {
  // Pipeline stages: the mean idle fraction, leaving out each stage's first minibatch (warm-up).
  if (r.stage_idle >= 0 && steps++ > 0) {
    idle_sum += r.stage_idle;
    ++idle_steps;
  }
  clock = std::max(clock, r.clock);
  samples += r.samples;
  up_bytes += r.up_bytes;
  down_bytes += r.down_bytes;
  rate.add(now_s, r.samples);
}

std::vector<supervisor_state::worker_view> supervisor_state::workers() const {
  std::vector<worker_view> out;
  for (const auto& [id, w] : workers_)
    out.push_back(worker_view{id, w.clock, w.active, w.samples, w.rate.per_s(), w.up_bytes,
                              w.down_bytes, w.idle_steps ? w.idle_sum / double(w.idle_steps) : -1});
  return out;
}

void supervisor_state::worker_finished(uint32_t id) {
  auto it = workers_.find(id);
  if (it != workers_.end())
    it->second.active = false;
}

size_t supervisor_state::worker_lost(uint32_t id) {
  worker_finished(id);
  if (auto it = workers_.find(id); it != workers_.end() && it->second.open_chunk != no_chunk) {
    // Its reported steps were pushed before they were reported: only the rest is redone.
    dispenser_.consumed(id, it->second.open_chunk, it->second.open_trained);
    it->second.open_chunk = no_chunk;
  }
  return dispenser_.reclaim(id);
}

uint64_t supervisor_state::samples_total() const {
  return uint64_t(train_samples_) * cfg_.training.epochs;
}

size_t supervisor_state::active_workers() const {
  return static_cast<size_t>(
    std::count_if(workers_.begin(), workers_.end(), [](auto& w) { return w.second.active; }));
}

uint64_t supervisor_state::min_clock() const {
  uint64_t lo = UINT64_MAX;
  for (const auto& [id, w] : workers_)
    if (w.active)
      lo = std::min(lo, w.clock);
  return lo == UINT64_MAX ? max_clock_ : lo;
}

bool supervisor_state::eval_due() {
  if (cfg_.training.eval_every <= 0 || eval_in_flight_ || all_finished())
    return false;
  auto clock = min_clock();
  if (clock < next_eval_)
    return false;
  auto every = static_cast<uint64_t>(cfg_.training.eval_every);
  next_eval_ = (clock / every + 1) * every;
  eval_in_flight_ = true;
  return true;
}

eval_point supervisor_state::eval_done(const messages::eval_report& r, bool* repeated) {
  eval_in_flight_ = false;
  eval_point e{r.clock, r.samples_seen, r.train_s, r.loss, r.accuracy, r.eval_seconds};
  if (repeated) {
    const auto* last = evals_.empty() ? nullptr : &evals_.back();
    *repeated = last && last->clock == e.clock && last->loss == e.loss
                && last->accuracy == e.accuracy;
    if (*repeated)
      return *last;
  }
  evals_.push_back(e);
  if (!time_to_target_ && cfg_.training.target_accuracy > 0
      && r.accuracy >= cfg_.training.target_accuracy)
    time_to_target_ = r.train_s;
  return e;
}

std::optional<config::consistency_switch> supervisor_state::switch_due() {
  const auto& all = cfg_.consistency.switches;
  if (next_switch_ >= all.size() || max_clock_ < uint64_t(all[next_switch_].at_clock))
    return std::nullopt;
  return all[next_switch_++];
}

void supervisor_state::restore(uint64_t clock, const data::dispenser_position& data,
                               uint64_t samples, uint64_t steps, uint64_t skipped,
                               const messages::step_report& wire) {
  dispenser_.restore(data);
  bytes_ = wire;
  samples_ = samples;
  steps_ = steps;
  skipped_ = skipped;
  max_clock_ = clock;
  if (cfg_.training.eval_every > 0) {
    auto every = static_cast<uint64_t>(cfg_.training.eval_every);
    next_eval_ = (clock / every + 1) * every;
  }
  // The rule in force at `clock` comes with the checkpoint: earlier switches are done.
  const auto& all = cfg_.consistency.switches;
  while (next_switch_ < all.size() && uint64_t(all[next_switch_].at_clock) <= clock)
    ++next_switch_;
}

job_result supervisor_state::result() const {
  job_result out;
  if (!evals_.empty())
    out.final_eval = evals_.back();
  out.evals = evals_;
  out.wall_s = elapsed_s();
  out.samples = samples_;
  out.clock = max_clock_;
  out.samples_per_s = out.wall_s > 0 ? double(samples_since_start()) / out.wall_s : 0;
  out.steps = steps_;
  out.steps_skipped = skipped_;
  out.up_bytes = bytes_.up_bytes;
  out.up_dense_bytes = bytes_.up_dense_bytes;
  out.down_bytes = bytes_.down_bytes;
  out.down_dense_bytes = bytes_.down_dense_bytes;
  out.encode_ns = bytes_.encode_ns;
  out.steps_per_s = out.wall_s > 0 ? double(steps_since_start()) / out.wall_s : 0;
  out.time_to_target_s = time_to_target_;
  for (const auto& w : workers())
    if (w.stage_idle >= 0)
      out.stage_idle[w.id] = w.stage_idle;
  return out;
}

} // namespace herd::actors
