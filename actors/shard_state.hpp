// A parameter shard's logic: a contiguous slice of the flat fp32 parameter vector, its optimizer
// state, a version counter (optimizer steps applied), the member workers' clocks, and the
// consistency rule that decides when a push is applied and when a pull may be answered.
// No CAF scheduling here; the shard actor (shard.hpp) keeps the deferred pulls and asks
// pull_ready() after every change.
//
// Clocks: a worker at clock c has completed c steps; pull(c) asks for the parameters to compute
// step c; push(c) carries the gradient of step c and moves the worker to clock c+1.
// c_min is the smallest member clock (no members: nothing to wait for).
//
//   BSP     push(c) is added to round c; round c is applied as one optimizer step with the
//           sample-weighted mean gradient once c_min > c (every member pushed c). The round
//           keeps each push and sums them in data order (data_key, then worker), not in
//           arrival order: float addition is not associative, and with 3 or more workers the
//           arrival order would change the sum from run to run.
//           pull(c) is ready when c_min >= c. SSP with s = 0 is BSP.
//   SSP(s)  push is applied on arrival. pull(c) is ready when c_min >= c - s: the reader sees
//           every update stamped <= c-s-1, and its own (they arrived before its pull).
//   ASP     push is applied on arrival; pull is always ready.
//
// The rule can change at any time (set_rule): rounds still open are applied at once when
// leaving BSP; entering BSP, rounds start at the members' current clocks.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "actors/optimizer_state.hpp"
#include "config/job_config.hpp"
#include "messages/checkpoint_codec.hpp"
#include "messages/errc.hpp"

namespace herd::actors {

struct consistency_rule {
  config::consistency_model model = config::consistency_model::bsp;
  uint64_t staleness = 0;
  bool staleness_aware = false; // SSP/ASP: lr / staleness for updates older than 1 version

  /// Whether pushes are aggregated into rounds (BSP, or SSP with s = 0).
  bool aggregates() const {
    return model == config::consistency_model::bsp
           || (model == config::consistency_model::ssp && staleness == 0);
  }
};

/// Staleness of applied updates (shard version at apply time minus the version the worker
/// read), as counts per value; values >= cap share the last bucket.
class staleness_histogram {
public:
  static constexpr uint64_t cap = 1024;
  void add(uint64_t staleness);
  uint64_t count() const { return total_; }
  /// The smallest value v with at least q of the counts at or below it (q in [0, 1]).
  uint64_t quantile(double q) const;
  uint64_t max() const { return max_; }
  const std::vector<uint64_t>& counts() const { return counts_; }
  void merge(const std::vector<uint64_t>& counts, uint64_t max);

private:
  std::vector<uint64_t> counts_;
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

class shard_state {
public:
  /// `horizon`: optimizer steps expected over the job (for the learning-rate schedule).
  shard_state(uint32_t id, size_t offset, std::vector<float> initial,
              const config::optimizer_config& opt, consistency_rule rule, uint64_t horizon = 0);

  uint32_t id() const { return id_; }
  size_t offset() const { return offset_; }
  size_t size() const { return params_.size(); }
  const std::vector<float>& params() const { return params_; }
  uint64_t version() const { return version_; }
  const consistency_rule& rule() const { return rule_; }
  uint64_t pushes_accepted() const { return pushes_; }
  const staleness_histogram& staleness() const { return staleness_; }
  /// BSP rounds holding pushes but not yet applied.
  size_t open_rounds() const { return rounds_.size(); }

  /// Adds `worker` at clock `clock` (its next push is for that clock). Under BSP a worker can
  /// only join at a clock whose round is not applied yet (c_min <= clock): joining a running
  /// job at a later clock is refused (the caller picks a later one).
  caf::error join(uint32_t worker, uint64_t clock);
  /// Removes `worker`; rounds that only waited for it are applied now.
  void leave(uint32_t worker);
  bool is_member(uint32_t worker) const { return members_.count(worker) > 0; }
  size_t members() const { return members_.size(); }

  /// Changes the consistency rule from the next push or pull on.
  void set_rule(consistency_rule rule);

  /// Takes the gradient (mean over `samples` samples) of `worker`'s step `clock`, computed on
  /// parameters of version `base_version` from the batch at `data_key` (the order a BSP round
  /// sums in: messages::gradient_header). Refuses pushes from non-members and for any clock
  /// but the worker's current one, so each step is applied at most once.
  caf::error push(uint32_t worker, uint64_t clock, uint64_t base_version, const float* grad,
                  uint32_t samples, uint64_t data_key = 0);

  /// `worker` skipped step `clock` (an overflowed mixed-precision step): its clock advances and
  /// nothing is applied. Same checks as push.
  caf::error skip(uint32_t worker, uint64_t clock);
  uint64_t steps_skipped() const { return skipped_; }

  /// Whether a pull for `clock` may be answered now.
  bool pull_ready(uint64_t clock) const;

  /// Everything needed to continue exactly from here (no BSP round may be open).
  messages::shard_snapshot snapshot() const;
  /// Continues from `s` (a snapshot of this shard of the same job); refuses another shard's,
  /// another size or another optimizer's state.
  caf::error restore(const messages::shard_snapshot& s);

  /// Under BSP (or SSP(0)) from the start: keep a copy of the parameters of each multiple of
  /// `every` (the evaluation clocks) before a round at or past it is applied, so an evaluation
  /// that reads after the next round was applied still gets exactly its clock. By clock, not
  /// by version: a round no member pushed to (members that joined clocks ahead, as after a
  /// resume from the end of training, or that all skipped) leaves the version behind the clock.
  void keep_every(uint64_t every) { keep_every_ = every; }
  /// The copy kept for `clock`, forgetting it and older ones; nullopt when there is none.
  std::optional<std::vector<float>> take_kept(uint64_t clock);
  /// Whether the parameters now are exactly those of `clock` (a clock a pull may read now):
  /// under an aggregating rule, no round at or past it has been applied.
  bool holds_clock(uint64_t clock) const;
  /// Under an aggregating rule, the first clock whose parameters these are: every round below
  /// it is applied, none at or past it.
  uint64_t params_clock() const { return params_clock_; }

  /// Smallest clock among members (UINT64_MAX when there are none).
  uint64_t min_clock() const;
  /// Largest clock among members (0 when there are none).
  uint64_t max_clock() const;

private:
  struct contribution {
    uint64_t data_key = 0;
    uint32_t worker = 0;
    uint32_t samples = 0;
    std::vector<float> grad; // the push's gradient, copied
  };
  struct round {
    std::vector<contribution> parts; // one per push, summed in (data_key, worker) order
    uint64_t samples = 0;
    std::vector<uint64_t> base_versions;
  };

  void apply(const float* grad, uint64_t base_version, uint32_t samples, float lr_scale);
  void apply_round(uint64_t clock, round& r);
  /// Keeps the parameters (those of each clock from `first` to `last`) for the evaluation
  /// clocks in that range not kept yet.
  void keep(uint64_t first, uint64_t last);
  void complete_rounds();
  /// The member's clock entry when `clock` is its current one; an error otherwise.
  expected<uint64_t*> current_clock(const char* what, uint32_t worker, uint64_t clock);

  uint32_t id_;
  size_t offset_;
  std::vector<float> params_;
  optimizer_state optimizer_;
  consistency_rule rule_;
  uint64_t version_ = 0;
  uint64_t pushes_ = 0;
  uint64_t skipped_ = 0;
  std::map<uint32_t, uint64_t> members_; // worker -> clock of its next push
  std::map<uint64_t, round> rounds_;     // BSP: clock -> pushes of that clock
  std::vector<std::vector<float>> spare_; // gradient buffers of applied rounds, reused
  staleness_histogram staleness_;
  uint64_t params_clock_ = 0;
  uint64_t keep_every_ = 0;
  uint64_t kept_through_ = 0; // the last evaluation clock kept
  // clock -> parameters, at most a few; the clocks of one copy share it
  std::map<uint64_t, std::shared_ptr<std::vector<float>>> kept_;
};

} // namespace herd::actors
