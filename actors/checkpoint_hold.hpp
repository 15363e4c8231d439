// A worker's (or pipeline stage's) part in a coordinated checkpoint: hold before the step of a
// clock (one the supervisor names, or each multiple of checkpoint.every), report the place once
// every push is answered, go on when resumed. Plain state, no CAF.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

namespace herd::actors {

class checkpoint_hold {
public:
  /// `every`: checkpoint.every (0: no periodic holds); `clock`: where the actor starts (no
  /// periodic hold there: a resumed job does not checkpoint its own start again).
  void start(uint64_t every, uint64_t clock) {
    every_ = every;
    no_self_hold_at_ = clock;
  }

  /// The supervisor asks for a hold before the step of `clock`.
  void hold_at(uint64_t clock) { hold_at_ = clock; }

  /// Whether the step of `clock` is held (nothing changes: for looking ahead).
  bool holds_at(uint64_t clock) const {
    return (hold_at_ && clock >= *hold_at_) || self_holds_at(clock);
  }
  /// Before the step of `clock`: true when it holds there (from now until resume()).
  bool hold_before(uint64_t clock) {
    if (self_holds_at(clock))
      hold_at_ = hold_at_ ? std::min(*hold_at_, clock) : clock;
    if (hold_at_ && clock >= *hold_at_)
      holding_ = true;
    return holding_;
  }
  /// Holding now (from hold_before() until resume()).
  bool holding() const { return holding_; }
  /// Holding, not yet reported, and every push answered: report now (once).
  bool report_due(bool pushes_pending) {
    if (!holding_ || held_sent_ || pushes_pending)
      return false;
    held_sent_ = true;
    return true;
  }
  /// The checkpoint is written; the actor stands at `clock`. True when it was holding (its
  /// step must start now).
  bool resume(uint64_t clock) {
    bool was = holding_;
    hold_at_.reset();
    holding_ = false;
    held_sent_ = false;
    no_self_hold_at_ = clock;
    return was;
  }

private:
  bool self_holds_at(uint64_t clock) const {
    return every_ > 0 && clock % every_ == 0 && clock != no_self_hold_at_;
  }

  uint64_t every_ = 0;
  uint64_t no_self_hold_at_ = 0;
  std::optional<uint64_t> hold_at_;
  bool holding_ = false;
  bool held_sent_ = false;
};

} // namespace herd::actors
