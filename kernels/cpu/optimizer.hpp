#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/optimizer_params.hpp"

// Optimizer updates on the CPU over n contiguous floats.
//
// sgd_update: g' = g + wd*w; m = mu*m + g'; w -= lr * (nesterov ? g' + mu*m : m).
//   When p.momentum == 0, m is neither read nor written (it may be nullptr)
//   and w -= lr*g'.
// adam_update: classic Adam with bias correction; step is 1-based (the first
//   update is step 1). L2 weight decay is added to g (not decoupled AdamW).
//   m and v start at zero for step 1.
// Aliasing: w, m, v and g must not overlap each other.
// Precision: float, the per-element math of kernels/optimizer_math.hpp (the
// same code the CUDA launchers run). The _ref versions keep w, m and v in
// double and are written out independently, as the tests' reference.

namespace herd::kernels {

void sgd_update_cpu(float* w, float* m, const float* g, size_t n,
                    const sgd_params& p);

void adam_update_cpu(float* w, float* m, float* v, const float* g, size_t n,
                     const adam_params& p, int64_t step);

void sgd_update_ref(double* w, double* m, const float* g, size_t n,
                    const sgd_params& p);

void adam_update_ref(double* w, double* m, double* v, const float* g,
                     size_t n, const adam_params& p, int64_t step);

} // namespace herd::kernels
