#include "kernels/compress/momentum_correction.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "kernels/compress/randk_codec.hpp"

namespace herd::kernels::compress {

momentum_correction::momentum_correction(uint32_t n, float momentum,
                                         bool nesterov)
  : n_(n), momentum_(momentum), nesterov_(nesterov), u_(n, 0.0f), v_(n, 0.0f) {
}

const float* momentum_correction::apply(const float* g) {
  const float m = momentum_;
  if (nesterov_) {
    for (uint32_t i = 0; i < n_; ++i) {
      u_[i] = m * u_[i] + g[i];
      v_[i] += g[i] + m * u_[i];
    }
  } else {
    for (uint32_t i = 0; i < n_; ++i) {
      u_[i] = m * u_[i] + g[i];
      v_[i] += u_[i];
    }
  }
  return v_.data();
}

void momentum_correction::clear_sent(const encoded& e) {
  assert(e.count == n_);
  const std::vector<uint32_t>* sent = nullptr;
  if (e.kind == codec_kind::topk) {
    sent = &e.indices;
  } else if (e.kind == codec_kind::randk) {
    randk_indices(e.seed, e.count, uint32_t(e.data.size() / 4), idx_);
    sent = &idx_;
  }
  if (sent == nullptr)
    return reset();
  for (uint32_t i : *sent) {
    u_[i] = 0.0f;
    v_[i] = 0.0f;
  }
}

void momentum_correction::reset() {
  std::fill(u_.begin(), u_.end(), 0.0f);
  std::fill(v_.begin(), v_.end(), 0.0f);
}

bool momentum_correction::restore(const std::vector<float>& u, const std::vector<float>& v) {
  if (u.size() != n_ || v.size() != n_)
    return false;
  u_ = u;
  v_ = v;
  return true;
}

double warmup_density(double final_density, uint64_t step,
                      uint64_t warmup_steps) {
  constexpr double start = 0.25;
  if (warmup_steps == 0 || step >= warmup_steps || final_density >= start
      || !(final_density > 0.0))
    return final_density;
  const double frac = double(step) / double(warmup_steps);
  return start * std::pow(final_density / start, frac);
}

} // namespace herd::kernels::compress
