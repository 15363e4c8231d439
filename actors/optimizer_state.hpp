// The optimizer a shard runs over its slice: SGD (momentum, Nesterov, weight decay) or Adam,
// with its state (momentum / moment buffers, step count) kept beside the fp32 master weights.
#pragma once

#include <cstdint>
#include <vector>

#include "config/job_config.hpp"

namespace herd::actors {

class optimizer_state {
public:
  /// `horizon`: the samples the job will train on, for the cosine schedule (0 = constant lr).
  /// The schedule follows the samples its updates covered, not their count, so it ends with
  /// the job whatever the consistency model (one update per round under BSP, one per push
  /// under SSP/ASP, switched while running) and however many workers push.
  optimizer_state(const config::optimizer_config& cfg, size_t n, uint64_t horizon = 0);

  /// One update of `w` (n floats) with gradient `g` of `samples` samples, scaled by `lr_scale`
  /// (1 = the configured lr).
  void step(float* w, const float* g, uint64_t samples, float lr_scale = 1.0f);

  int64_t steps() const { return steps_; }
  uint64_t schedule_samples() const { return samples_; }
  /// SGD momentum or Adam's first moment (empty when the optimizer keeps none).
  const std::vector<float>& momentum() const { return m_; }
  /// Adam's second moment (empty otherwise).
  const std::vector<float>& variance() const { return v_; }
  /// Takes the state of a checkpoint; refuses buffers of another size than this one keeps.
  bool restore(int64_t steps, uint64_t samples, std::vector<float> momentum,
               std::vector<float> variance);

private:
  config::optimizer_config cfg_;
  size_t size_;
  uint64_t horizon_;
  std::vector<float> m_;
  std::vector<float> v_;
  int64_t steps_ = 0;
  uint64_t samples_ = 0;
};

} // namespace herd::actors
