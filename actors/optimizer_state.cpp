#include "actors/optimizer_state.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/optimizer.hpp"

namespace herd::actors {

optimizer_state::optimizer_state(const config::optimizer_config& cfg, size_t n, uint64_t horizon)
  : cfg_(cfg), size_(n), horizon_(horizon) {
  if (cfg_.type == config::optimizer_kind::adam) {
    m_.assign(n, 0.0f);
    v_.assign(n, 0.0f);
  } else if (cfg_.momentum > 0) {
    m_.assign(n, 0.0f);
  }
}

bool optimizer_state::restore(int64_t steps, uint64_t samples, std::vector<float> momentum,
                              std::vector<float> variance) {
  if (steps < 0 || momentum.size() != m_.size() || variance.size() != v_.size())
    return false;
  steps_ = steps;
  samples_ = samples;
  m_ = std::move(momentum);
  v_ = std::move(variance);
  return true;
}

void optimizer_state::step(float* w, const float* g, uint64_t samples, float lr_scale) {
  if (cfg_.schedule == config::lr_schedule::cosine && horizon_ > 0) {
    double t = std::min(1.0, double(samples_) / double(horizon_));
    lr_scale *= static_cast<float>(0.5 * (1.0 + std::cos(3.141592653589793 * t)));
  }
  ++steps_;
  samples_ += samples;
  auto lr = static_cast<float>(cfg_.lr) * lr_scale;
  if (cfg_.type == config::optimizer_kind::adam) {
    kernels::adam_params p;
    p.lr = lr;
    p.beta1 = static_cast<float>(cfg_.beta1);
    p.beta2 = static_cast<float>(cfg_.beta2);
    p.eps = static_cast<float>(cfg_.eps);
    p.weight_decay = static_cast<float>(cfg_.weight_decay);
    kernels::adam_update_cpu(w, m_.data(), v_.data(), g, size_, p, steps_);
    return;
  }
  kernels::sgd_params p;
  p.lr = lr;
  p.momentum = static_cast<float>(cfg_.momentum);
  p.nesterov = cfg_.nesterov;
  p.weight_decay = static_cast<float>(cfg_.weight_decay);
  kernels::sgd_update_cpu(w, m_.empty() ? nullptr : m_.data(), g, size_, p);
}

} // namespace herd::actors
