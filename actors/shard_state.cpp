#include "actors/shard_state.hpp"

#include <algorithm>
#include <string>

namespace herd::actors {

using config::consistency_model;

void staleness_histogram::add(uint64_t staleness) {
  auto bucket = std::min(staleness, cap - 1);
  if (counts_.size() <= bucket)
    counts_.resize(bucket + 1, 0);
  ++counts_[bucket];
  ++total_;
  max_ = std::max(max_, staleness);
}

void staleness_histogram::merge(const std::vector<uint64_t>& counts, uint64_t max) {
  if (counts_.size() < counts.size())
    counts_.resize(counts.size(), 0);
  for (size_t i = 0; i < counts.size(); ++i) {
    counts_[i] += counts[i];
    total_ += counts[i];
  }
  max_ = std::max(max_, max);
}

uint64_t staleness_histogram::quantile(double q) const {
  if (total_ == 0)
    return 0;
  auto want = static_cast<uint64_t>(q * double(total_));
  want = std::max<uint64_t>(want, 1);
  uint64_t seen = 0;
  for (size_t v = 0; v < counts_.size(); ++v) {
    seen += counts_[v];
    if (seen >= want)
      return v;
  }
  return max_;
}

shard_state::shard_state(uint32_t id, size_t offset, std::vector<float> initial,
                         const config::optimizer_config& opt, consistency_rule rule,
                         uint64_t horizon)
  : id_(id), offset_(offset), params_(std::move(initial)),
    optimizer_(opt, params_.size(), horizon), rule_(rule) {
}

caf::error shard_state::join(uint32_t worker, uint64_t clock) {
  if (members_.count(worker) > 0)
    return make_error(errc::invalid_argument,
                      "worker " + std::to_string(worker) + " is already a member of shard "
                        + std::to_string(id_));
  if (rule_.aggregates() && !members_.empty() && min_clock() > clock)
    return make_error(errc::invalid_argument,
                      "worker " + std::to_string(worker) + " cannot join shard "
                        + std::to_string(id_) + " at clock " + std::to_string(clock)
                        + ": its round is applied already (members are at "
                        + std::to_string(min_clock()) + ")");
  // Without members no round is open: the parameters stay those of every clock up to the
  // joining one (the job file's workers join two clocks past a checkpoint taken at the end of
  // training: its two rounds never come). A shard restored without members knows its version
  // only, which is no clock once the rule has changed.
  if (members_.empty())
    params_clock_ = std::min(params_clock_, clock);
  members_[worker] = clock;
  return {};
}

void shard_state::leave(uint32_t worker) {
  members_.erase(worker);
  complete_rounds();
}

void shard_state::set_rule(consistency_rule rule) {
  bool was_aggregating = rule_.aggregates();
  rule_ = rule;
  if (was_aggregating && !rule_.aggregates()) {
    // Pushes already taken under BSP are applied now, each open round as one step.
    for (auto& [clock, r] : rounds_)
      apply_round(clock, r);
    rounds_.clear();
  }
  if (!was_aggregating && rule_.aggregates() && !members_.empty())
    params_clock_ = min_clock(); // rounds start at the members' clocks
}

expected<uint64_t*> shard_state::current_clock(const char* what, uint32_t worker,
                                               uint64_t clock) {
  auto it = members_.find(worker);
  if (it == members_.end())
    return make_error(errc::invalid_argument, "shard " + std::to_string(id_) + ": " + what
                                                + " from worker " + std::to_string(worker)
                                                + ", which is not a member");
  if (clock != it->second)
    return make_error(errc::invalid_argument,
                      "shard " + std::to_string(id_) + ": " + what + " for clock "
                        + std::to_string(clock) + " from worker " + std::to_string(worker)
                        + ", expected clock " + std::to_string(it->second));
  return &it->second;
}

caf::error shard_state::skip(uint32_t worker, uint64_t clock) {
  auto member_clock = current_clock("skip", worker, clock);
  if (!member_clock)
    return std::move(member_clock.error());
  ++**member_clock;
  ++skipped_;
  complete_rounds(); // a round may have waited only for this worker
  return {};
}

caf::error shard_state::push(uint32_t worker, uint64_t clock, uint64_t base_version,
                             const float* grad, uint32_t samples, uint64_t data_key) {
  auto member_clock = current_clock("push", worker, clock);
  if (!member_clock)
    return std::move(member_clock.error());
  ++**member_clock;
  ++pushes_;
  if (!rule_.aggregates()) {
    auto stale = version_ > base_version ? version_ - base_version : 0;
    float scale = rule_.staleness_aware && stale > 1 ? 1.0f / float(stale) : 1.0f;
    apply(grad, base_version, samples, scale);
    return {};
  }
  auto& r = rounds_[clock];
  contribution part{data_key, worker, samples, {}};
  if (!spare_.empty()) {
    part.grad = std::move(spare_.back());
    spare_.pop_back();
  }
  part.grad.assign(grad, grad + params_.size());
  r.parts.push_back(std::move(part));
  r.samples += samples;
  r.base_versions.push_back(base_version);
  complete_rounds();
  return {};
}

void shard_state::apply(const float* grad, uint64_t base_version, uint32_t samples,
                        float lr_scale) {
  staleness_.add(version_ > base_version ? version_ - base_version : 0);
  optimizer_.step(params_.data(), grad, samples, lr_scale);
  ++version_;
}

void shard_state::apply_round(uint64_t clock, round& r) {
  keep(params_clock_, clock); // rounds no member pushed to passed since the last one applied
  // The sample-weighted sum in data order, into the first part's buffer, then the mean.
  std::sort(r.parts.begin(), r.parts.end(), [](const contribution& a, const contribution& b) {
    return a.data_key != b.data_key ? a.data_key < b.data_key : a.worker < b.worker;
  });
  auto& sum = r.parts.front().grad;
  const auto w0 = static_cast<float>(r.parts.front().samples);
  const auto inv = 1.0f / static_cast<float>(r.samples);
  if (r.parts.size() == 1) {
    for (auto& x : sum)
      x = x * w0 * inv;
  } else {
    for (auto& x : sum)
      x *= w0;
    for (size_t p = 1; p < r.parts.size(); ++p) {
      const auto w = static_cast<float>(r.parts[p].samples);
      const float* g = r.parts[p].grad.data();
      for (size_t i = 0; i < sum.size(); ++i)
        sum[i] += w * g[i];
    }
    for (auto& x : sum)
      x *= inv;
  }
  for (auto base : r.base_versions)
    staleness_.add(version_ > base ? version_ - base : 0);
  optimizer_.step(params_.data(), sum.data(), r.samples);
  ++version_;
  params_clock_ = clock + 1;
  keep(params_clock_, params_clock_);
  // Keep as many buffers as the next round needs (one per member), and no more.
  for (auto& part : r.parts)
    if (spare_.size() < members_.size())
      spare_.push_back(std::move(part.grad));
  r.parts.clear();
}

void shard_state::complete_rounds() {
  auto lo = min_clock();
  while (!rounds_.empty() && rounds_.begin()->first < lo) {
    apply_round(rounds_.begin()->first, rounds_.begin()->second);
    rounds_.erase(rounds_.begin());
  }
}

uint64_t shard_state::min_clock() const {
  uint64_t lo = UINT64_MAX;
  for (const auto& [id, clock] : members_)
    lo = std::min(lo, clock);
  return lo;
}

messages::shard_snapshot shard_state::snapshot() const {
  messages::shard_snapshot s;
  s.shard = id_;
  s.offset = offset_;
  s.version = version_;
  s.pushes = pushes_;
  s.skipped = skipped_;
  s.params = params_;
  s.optimizer_steps = optimizer_.steps();
  s.schedule_samples = optimizer_.schedule_samples();
  s.momentum = optimizer_.momentum();
  s.variance = optimizer_.variance();
  s.members.assign(members_.begin(), members_.end());
  return s;
}

caf::error shard_state::restore(const messages::shard_snapshot& s) {
  if (s.shard != id_ || s.offset != offset_ || s.params.size() != params_.size())
    return make_error(errc::size_mismatch,
                      "checkpoint of shard " + std::to_string(s.shard) + " at offset "
                        + std::to_string(s.offset) + " with " + std::to_string(s.params.size())
                        + " values does not fit shard " + std::to_string(id_) + " at offset "
                        + std::to_string(offset_) + " with " + std::to_string(params_.size()));
  if (!optimizer_.restore(s.optimizer_steps, s.schedule_samples, s.momentum, s.variance))
    return make_error(errc::size_mismatch, "checkpoint of shard " + std::to_string(id_)
                                             + ": optimizer state of another optimizer or size");
  params_ = s.params;
  version_ = s.version;
  pushes_ = s.pushes;
  skipped_ = s.skipped;
  members_.clear();
  members_.insert(s.members.begin(), s.members.end());
  rounds_.clear();
  // Its members hold at their clocks with no round open; without members the first join
  // bounds it.
  params_clock_ = members_.empty() ? version_ : min_clock();
  kept_.clear();
  kept_through_ = 0;
  return {};
}

void shard_state::keep(uint64_t first, uint64_t last) {
  if (keep_every_ == 0)
    return;
  auto newest = last / keep_every_ * keep_every_;
  if (newest == 0 || newest < first || newest <= kept_through_)
    return;
  auto copy = std::make_shared<std::vector<float>>(params_);
  for (auto at = newest; at >= first && at > kept_through_ && at > 0; at -= keep_every_) {
    kept_[at] = copy;
    if (kept_.size() > 4) // evaluations skipped meanwhile: the newest few
      break;
  }
  kept_through_ = newest;
  while (kept_.size() > 4)
    kept_.erase(kept_.begin());
}

std::optional<std::vector<float>> shard_state::take_kept(uint64_t clock) {
  auto it = kept_.find(clock);
  if (it == kept_.end())
    return std::nullopt;
  auto copy = std::move(it->second);
  kept_.erase(kept_.begin(), std::next(it));
  if (copy.use_count() == 1) // no later clock shares it
    return std::move(*copy);
  return *copy;
}

bool shard_state::holds_clock(uint64_t clock) const {
  return rule_.aggregates() && params_clock_ <= clock && clock <= min_clock();
}

uint64_t shard_state::max_clock() const {
  uint64_t hi = 0;
  for (const auto& [id, clock] : members_)
    hi = std::max(hi, clock);
  return hi;
}

bool shard_state::pull_ready(uint64_t clock) const {
  if (rule_.model == consistency_model::asp)
    return true;
  auto lo = min_clock();
  if (lo == UINT64_MAX)
    return true;
  auto s = rule_.aggregates() ? 0 : rule_.staleness;
  return lo + s >= clock;
}

} // namespace herd::actors
