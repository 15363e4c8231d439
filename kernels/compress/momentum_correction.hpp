#pragma once

// Momentum correction and the density warm-up of Deep Gradient Compression
// (Lin et al., 2018), for top-k on the worker. The worker keeps the momentum
// and the shard applies plain SGD to what arrives:
//   u = m*u + g;  v += u;  out = topk.encode(v);  clear_sent(out)
// With Nesterov momentum v += g + m*u instead (DGC's Nesterov variant; the
// same step as the optimizer's nesterov SGD, w -= lr (g + m u)).
// clear_sent zeroes u and v where values were sent (momentum factor
// masking), so v is the accumulated, not yet sent, momentum: it replaces
// error_feedback (do not use both). One object per worker per slice.

#include <cstdint>
#include <vector>

#include "kernels/compress/encoded.hpp"

namespace herd::kernels::compress {

class momentum_correction {
public:
  momentum_correction(uint32_t n, float momentum, bool nesterov = false);

  // u = m*u + g; v += u (Nesterov: v += g + m*u). Returns v (n elements),
  // valid until the next call.
  const float* apply(const float* g);

  // Zeroes u and v at the positions e sent: topk's indices, randk's derived
  // positions; every position for the dense codecs (they send all).
  // Requires e.count == size() and e valid.
  void clear_sent(const encoded& e);

  uint32_t size() const { return n_; }
  const float* velocity() const { return u_.data(); }
  const float* accumulated() const { return v_.data(); }
  void reset();
  // Takes u and v kept from before (a checkpoint); false unless both have size() elements.
  bool restore(const std::vector<float>& u, const std::vector<float>& v);

private:
  uint32_t n_;
  float momentum_;
  bool nesterov_;
  std::vector<float> u_;
  std::vector<float> v_;
  std::vector<uint32_t> idx_; // scratch for randk
};

// DGC's density warm-up: exponential from 25% at step 0 to final_density at
// warmup_steps, final_density from then on (and when final_density >= 0.25
// or warmup_steps == 0):
//   d(step) = 0.25 * (final_density / 0.25)^(step / warmup_steps)
// With final 0.1% and warm-up over 4 epochs this gives 25%, 6.29%, 1.58%,
// 0.40% at the epoch starts, then 0.1%: DGC's staircase (25%, 6.25%, 1.56%,
// 0.39%, 0.1%), smoothed, and for any final density.
double warmup_density(double final_density, uint64_t step,
                      uint64_t warmup_steps);

} // namespace herd::kernels::compress
