#include "kernels/loss_scaler.hpp"

#include <algorithm>
#include <cmath>

namespace herd::kernels {

loss_scaler::loss_scaler(loss_scaler_params p) : p_(p), scale_(p.initial) {
}

bool all_finite_cpu(const float* x, size_t n) {
  // Summing x*0 stays 0 for finite values and turns NaN for inf or NaN: one branch-free pass.
  float acc = 0.0f;
  for (size_t i = 0; i < n; ++i)
    acc += x[i] * 0.0f;
  return acc == 0.0f;
}

bool loss_scaler::unscale_and_check(float* grad, size_t n) {
  if (!all_finite_cpu(grad, n)) {
    scale_ = std::max(p_.min_scale, scale_ * p_.backoff);
    clean_ = 0;
    ++skipped_;
    return false;
  }
  const float inv = 1.0f / scale_;
  for (size_t i = 0; i < n; ++i)
    grad[i] *= inv;
  if (++clean_ >= p_.growth_interval) {
    scale_ = std::min(p_.max_scale, scale_ * p_.growth);
    clean_ = 0;
  }
  return true;
}

} // namespace herd::kernels
