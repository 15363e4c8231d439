#include "kernels/compress/error_feedback.hpp"

#include <algorithm>
#include <cassert>

namespace herd::kernels::compress {

error_feedback::error_feedback(std::unique_ptr<codec> inner, uint32_t n)
  : inner_(std::move(inner)), n_(n), r_(n, 0.0f), c_(n), d_(n) {
  assert(inner_);
}

void error_feedback::encode(const float* g, uint64_t step_seed,
                            encoded& out) {
  for (uint32_t i = 0; i < n_; ++i)
    c_[i] = g[i] + r_[i];
  inner_->encode(c_.data(), n_, step_seed, out);
  // Our own encoding is valid by construction (asserted inside decode).
  inner_->decode(out, d_.data());
  for (uint32_t i = 0; i < n_; ++i)
    r_[i] = c_[i] - d_[i];
}

void error_feedback::reset() {
  std::fill(r_.begin(), r_.end(), 0.0f);
}

bool error_feedback::restore(const std::vector<float>& r) {
  if (r.size() != n_)
    return false;
  r_ = r;
  return true;
}

} // namespace herd::kernels::compress
