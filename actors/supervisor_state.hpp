// The supervisor's logic: the data dispenser, membership and clocks of the workers, progress
// metrics and the evaluation schedule. No CAF scheduling; supervisor.cpp moves the messages.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <utility>

#include "actors/job.hpp"
#include "data/dispenser.hpp"
#include "messages/types.hpp"

namespace herd::actors {

/// A worker's samples per second from its reports' arrival times: the samples reported over
/// the last `window_s` seconds, measured from the newest report before them. Reports that
/// arrive back to back (a burst after a pause, a hold) count over the time they stand for, not
/// over the microseconds between them. 0 until the reports span at least `min_span_s`.
class step_rate {
public:
  static constexpr double window_s = 2.0;
  static constexpr double min_span_s = 0.5;

  /// A report of `samples` arrived at `now_s` (non-decreasing).
  void add(double now_s, uint64_t samples);
  double per_s() const;

private:
  std::deque<std::pair<double, uint64_t>> seen_; // (arrival, samples); the front: baseline
  uint64_t after_front_ = 0;                      // samples of every report but the front
};

class supervisor_state {
public:
  supervisor_state(const config::job_config& cfg, size_t train_samples);

  /// Training starts (or resumes) now: times and rates count from here.
  void start_clock() {
    start_ = std::chrono::steady_clock::now();
    start_samples_ = samples_;
    start_steps_ = steps_;
  }
  double elapsed_s() const;
  /// Samples and steps trained since start_clock() (a resumed job's own).
  uint64_t samples_since_start() const { return samples_ - start_samples_; }
  uint64_t steps_since_start() const { return steps_ - start_steps_; }

  /// Hands `worker` its next chunk after recording `finished_chunk` as done; an empty chunk
  /// means the data is used up.
  messages::data_chunk next_chunk(uint32_t worker, uint64_t finished_chunk);

  void add_worker(uint32_t id, uint64_t clock = 0);
  /// A worker resumed from a checkpoint at `clock`, working through chunk `chunk_id` from
  /// sample `pos` (no_chunk: none). Any other chunk the dispenser has outstanding with it was
  /// used up before the checkpoint (a worker holds between steps, and reports a used-up chunk
  /// done only with its next chunk request): it is done.
  void resume_worker(uint32_t id, uint64_t clock, uint64_t chunk_id, uint64_t pos);
  /// Forgets every worker (the job rolls back to a checkpoint and places them again).
  void reset_workers() { workers_.clear(); }
  /// An added worker that never started (its node could not start it): as if never added.
  void forget_worker(uint32_t id) { workers_.erase(id); }
  /// A worker's step (a pipeline stage's minibatch); returns the progress after it.
  progress_info on_report(const messages::step_report& r) { return on_report(r, elapsed_s()); }
  /// The same, arrived at job time `now_s`.
  progress_info on_report(const messages::step_report& r, double now_s);

  /// The samples and training time when the slowest worker reached `clock`, a multiple of
  /// eval_every: what an evaluation of that clock reports. Only the newest such clock is kept.
  struct eval_mark {
    uint64_t clock = 0;
    uint64_t samples = 0;
    double at_s = 0;
  };
  std::optional<eval_mark> mark_at(uint64_t clock) const {
    return mark_ && mark_->clock == clock ? mark_ : std::nullopt;
  }
  void worker_finished(uint32_t id);
  /// `worker` used up chunk `id`.
  void chunk_done(uint32_t worker, uint64_t id) { dispenser_.done(worker, id); }
  /// `worker` trained the first `samples` of chunk `id` (it leaves mid-chunk, and says so).
  void chunk_consumed(uint32_t worker, uint64_t id, uint64_t samples);
  /// A worker that went away: the samples of its open chunk that its step reports counted are
  /// consumed, the rest of its unfinished chunks go back to the dispenser. Returns how many.
  size_t worker_lost(uint32_t id);
  size_t active_workers() const;
  bool all_finished() const { return active_workers() == 0; }
  /// Every chunk of every epoch trained (never with unlimited epochs).
  bool data_used_up() const { return dispenser_.finished(); }
  /// Samples in chunks done, and in all epochs (0: unlimited).
  uint64_t samples_done() const { return dispenser_.samples_done(); }
  uint64_t samples_total() const;
  bool is_worker(uint32_t id) const { return workers_.count(id) > 0; }
  bool is_active(uint32_t id) const {
    auto it = workers_.find(id);
    return it != workers_.end() && it->second.active;
  }

  /// Smallest clock among active workers (the largest seen when none is active).
  uint64_t min_clock() const;

  /// True when a periodic evaluation should start now; marks it in flight.
  bool eval_due();
  /// Records a finished evaluation (periodic or final) and returns it as an eval_point. With
  /// `repeated`, one that repeats the last recorded point (same clock, loss and accuracy) is not
  /// recorded again: *repeated is set and the earlier point returned.
  eval_point eval_done(const messages::eval_report& r, bool* repeated = nullptr);
  /// A deferred snapshot was kept: the evaluation slot is free again.
  void snapshot_kept() { eval_in_flight_ = false; }

  /// The next configured consistency switch, once the fastest worker reached its clock.
  std::optional<config::consistency_switch> switch_due();
  uint64_t max_clock() const { return max_clock_; }
  uint64_t samples() const { return samples_; }
  void eval_failed() { eval_in_flight_ = false; }
  bool eval_in_flight() const { return eval_in_flight_; }

  /// One worker as `herd ctl status` shows it.
  struct worker_view {
    uint32_t id = 0;
    uint64_t clock = 0;
    bool active = false;
    uint64_t samples = 0;
    double samples_per_s = 0; // over about the last 2 s (step_rate)
    uint64_t up_bytes = 0;
    uint64_t down_bytes = 0;
    double stage_idle = -1; // pipeline stage: mean idle fraction per minibatch (-1: none)
  };
  std::vector<worker_view> workers() const;

  /// For checkpoints: where the data stands, and the counters.
  data::dispenser_position data_position() const { return dispenser_.position(); }
  uint64_t steps() const { return steps_; }
  uint64_t skipped() const { return skipped_; }
  /// Continues from a checkpoint taken at `clock` (workers are added by the caller).
  void restore(uint64_t clock, const data::dispenser_position& data, uint64_t samples,
               uint64_t steps, uint64_t skipped, const messages::step_report& wire = {});
  /// Wire bytes and encode time summed over the job.
  const messages::step_report& wire() const { return bytes_; }

  /// The job's result so far (final_eval is the last evaluation recorded).
  job_result result() const;

private:
  static constexpr uint64_t no_chunk = UINT64_MAX;
  /// Whether `worker`'s reports count as steps: every worker's, a pipeline's stage 0's.
  bool is_step(uint32_t worker) const {
    auto k = cfg_.parallelism.pipeline_stages;
    return k <= 1 || worker % uint32_t(k) == 0;
  }
  const config::job_config& cfg_;
  size_t train_samples_;
  bool track_chunks_; // not for pipeline stages: a replica's chunk counts once committed
  data::dispenser dispenser_;
  struct worker_info {
    uint64_t clock = 0;
    bool active = true;
    uint64_t samples = 0;
    uint64_t up_bytes = 0;
    uint64_t down_bytes = 0;
    step_rate rate;
    uint64_t steps = 0;
    double idle_sum = 0;
    uint64_t idle_steps = 0;
    uint64_t open_chunk = no_chunk; // the chunk last handed to it, and the samples of it
    uint64_t open_trained = 0;      // its step reports counted since
    void record(const messages::step_report& r, double now_s);
  };
  std::map<uint32_t, worker_info> workers_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  uint64_t samples_ = 0;
  uint64_t steps_ = 0;
  uint64_t start_samples_ = 0; // samples_ and steps_ at start_clock()
  uint64_t start_steps_ = 0;
  uint64_t skipped_ = 0;
  messages::step_report bytes_; // summed wire bytes and encode time
  uint64_t max_clock_ = 0;
  double loss_ema_ = 0;
  bool have_loss_ = false;
  uint64_t next_eval_ = 0;
  bool eval_in_flight_ = false;
  std::optional<eval_mark> mark_; // see mark_at
  std::vector<eval_point> evals_;
  std::optional<double> time_to_target_;
  size_t next_switch_ = 0;
};

} // namespace herd::actors
