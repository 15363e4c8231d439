// Dynamic loss scaling for fp16 compute (the policy of DESIGN.md): the loss gradient is
// multiplied by scale() before the backward pass; after it, the worker checks the gradient.
// A gradient holding inf/NaN means the step overflowed: the step is skipped (nothing pushed,
// the clock still advances) and the scale halves. After `growth_interval` clean steps in a
// row the scale doubles. Plain state, no CAF; one per worker.
#pragma once

#include <cstddef>
#include <cstdint>

namespace herd::kernels {

struct loss_scaler_params {
  float initial = 65536.0f;       // 2^16
  uint32_t growth_interval = 2000;
  float growth = 2.0f;
  float backoff = 0.5f;
  float min_scale = 1.0f;         // never below 1
  float max_scale = 16777216.0f;  // 2^24
};

class loss_scaler {
public:
  explicit loss_scaler(loss_scaler_params p = {});

  float scale() const { return scale_; }

  /// Checks `grad` (n floats, scaled by scale()); returns true when every value is finite, and
  /// then multiplies the gradient by 1/scale() in place. Returns false for an overflowed step
  /// (the caller skips it). Updates the scale either way.
  bool unscale_and_check(float* grad, size_t n);

  /// The bookkeeping of unscale_and_check for a backend that checked and unscaled the
  /// gradient itself (on a GPU): halves the scale on overflow, grows it after a clean run.
  void record(bool finite);

  uint64_t skipped() const { return skipped_; }
  uint32_t clean_in_a_row() const { return clean_; }
  /// Continues from a scale and run of clean steps kept from before (a checkpoint).
  void restore(float scale, uint32_t clean) {
    scale_ = scale;
    clean_ = clean;
  }

private:
  loss_scaler_params p_;
  float scale_;
  uint32_t clean_ = 0;
  uint64_t skipped_ = 0;
};

/// Whether every one of the n values is finite.
bool all_finite_cpu(const float* x, size_t n);

} // namespace herd::kernels
