// A parameter shard's logic: a contiguous slice of the flat fp32 parameter vector, its optimizer
// state, a version counter, the member workers' clocks, and the consistency rule that decides
// when a push is applied and when a pull may be answered. No CAF scheduling here; the shard
// actor (shard.hpp) keeps the deferred pulls and asks pull_ready() after every change.
//
// Clocks: a worker at clock c has completed c steps; pull(c) asks for the parameters to compute
// step c; push(c) carries the gradient of step c, after which the worker is at clock c+1.
//
//   BSP     push(c) is summed into round c; when every member pushed c the round's
//           sample-weighted mean gradient is applied once (version = c+1).
//           pull(c) is ready when version >= c.
//   SSP(s)  push is applied on arrival. pull(c) is ready when min member clock >= c - s.
//   ASP     push is applied on arrival; pull is always ready.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "actors/optimizer_state.hpp"
#include "config/job_config.hpp"
#include "messages/errc.hpp"

namespace herd::actors {

struct consistency_rule {
  config::consistency_model model = config::consistency_model::bsp;
  uint64_t staleness = 0;
};

class shard_state {
public:
  shard_state(uint32_t id, size_t offset, std::vector<float> initial,
              const config::optimizer_config& opt, consistency_rule rule,
              uint64_t horizon = 0);

  uint32_t id() const { return id_; }
  size_t offset() const { return offset_; }
  size_t size() const { return params_.size(); }
  const std::vector<float>& params() const { return params_; }
  uint64_t version() const { return version_; }
  uint64_t updates_applied() const { return optimizer_.steps(); }

  /// Adds `worker` at clock `clock` (its next push is for that clock).
  void join(uint32_t worker, uint64_t clock);
  /// Removes `worker`; a BSP round that only waited for it is applied now.
  void leave(uint32_t worker);
  bool is_member(uint32_t worker) const { return members_.count(worker) > 0; }
  size_t members() const { return members_.size(); }

  /// Takes the gradient (mean over `samples` samples) of `worker`'s step `clock`.
  /// Refuses pushes from non-members and any clock but the worker's current one, so each
  /// step's gradient is applied at most once.
  caf::error push(uint32_t worker, uint64_t clock, const float* grad, uint32_t samples);

  /// Whether a pull for `clock` may be answered now.
  bool pull_ready(uint64_t clock) const;

  /// Smallest clock among members (the current version when there are none).
  uint64_t min_clock() const;

private:
  void complete_round_if_ready();

  uint32_t id_;
  size_t offset_;
  std::vector<float> params_;
  optimizer_state optimizer_;
  consistency_rule rule_;
  uint64_t version_ = 0;
  struct member {
    uint64_t clock = 0;
    bool pushed = false; // BSP: pushed in the current round
  };
  std::map<uint32_t, member> members_;
  std::vector<float> round_sum_; // BSP: sample-weighted sum of this round's gradients
  uint64_t round_samples_ = 0;
  std::vector<float> scratch_;
};

} // namespace herd::actors
