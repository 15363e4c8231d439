#include "actors/shard_state.hpp"

#include <algorithm>
#include <string>

namespace herd::actors {

using config::consistency_model;

shard_state::shard_state(uint32_t id, size_t offset, std::vector<float> initial,
                         const config::optimizer_config& opt, consistency_rule rule,
                         uint64_t horizon)
  : id_(id), offset_(offset), params_(std::move(initial)),
    optimizer_(opt, params_.size(), horizon),
    rule_(rule) {
  if (rule_.model == consistency_model::bsp)
    round_sum_.assign(params_.size(), 0.0f);
}

void shard_state::join(uint32_t worker, uint64_t clock) {
  members_[worker] = member{clock, false};
}

void shard_state::leave(uint32_t worker) {
  members_.erase(worker);
  if (rule_.model == consistency_model::bsp)
    complete_round_if_ready();
}

caf::error shard_state::push(uint32_t worker, uint64_t clock, const float* grad,
                             uint32_t samples) {
  auto it = members_.find(worker);
  if (it == members_.end())
    return make_error(errc::invalid_argument, "shard " + std::to_string(id_)
                                                + ": push from worker " + std::to_string(worker)
                                                + ", which is not a member");
  auto& m = it->second;
  if (clock != m.clock || m.pushed)
    return make_error(errc::invalid_argument,
                      "shard " + std::to_string(id_) + ": push for clock "
                        + std::to_string(clock) + " from worker " + std::to_string(worker)
                        + ", expected clock " + std::to_string(m.clock));
  if (rule_.model != consistency_model::bsp) {
    optimizer_.step(params_.data(), grad);
    ++version_;
    ++m.clock;
    return {};
  }
  auto w = static_cast<float>(samples);
  for (size_t i = 0; i < round_sum_.size(); ++i)
    round_sum_[i] += w * grad[i];
  round_samples_ += samples;
  m.pushed = true;
  complete_round_if_ready();
  return {};
}

void shard_state::complete_round_if_ready() {
  if (round_samples_ == 0)
    return;
  for (const auto& [id, m] : members_)
    if (!m.pushed)
      return;
  scratch_.resize(round_sum_.size());
  auto inv = 1.0f / static_cast<float>(round_samples_);
  for (size_t i = 0; i < round_sum_.size(); ++i)
    scratch_[i] = round_sum_[i] * inv;
  optimizer_.step(params_.data(), scratch_.data());
  std::fill(round_sum_.begin(), round_sum_.end(), 0.0f);
  round_samples_ = 0;
  ++version_;
  for (auto& [id, m] : members_) {
    m.pushed = false;
    m.clock = version_;
  }
}

uint64_t shard_state::min_clock() const {
  if (members_.empty())
    return version_;
  uint64_t lo = UINT64_MAX;
  for (const auto& [id, m] : members_)
    lo = std::min(lo, m.clock);
  return lo;
}

bool shard_state::pull_ready(uint64_t clock) const {
  switch (rule_.model) {
    case consistency_model::bsp:
      return version_ >= clock;
    case consistency_model::ssp:
      return min_clock() + rule_.staleness >= clock;
    case consistency_model::asp:
      return true;
  }
  return true;
}

} // namespace herd::actors
