#pragma once

// Per-element optimizer math, written once and compiled for both the CPU
// (kernels/cpu/optimizer.cpp) and CUDA (kernels/cuda/optimizer_cuda.cu).
// Must stay C++17 and free of host-only calls: nvcc compiles it for the device.

#include <cmath>
#include <cstdint>

#include "kernels/optimizer_params.hpp"

#ifdef __CUDACC__
#  define HERD_HD __host__ __device__
#else
#  define HERD_HD
#endif

namespace herd::kernels {

// SGD with momentum (p.momentum != 0):
//   g' = g + wd*w;  m = mu*m + g';  w -= lr * (nesterov ? g' + mu*m : m)
HERD_HD inline void sgd_momentum_step(float& w, float& m, float g,
                                      const sgd_params& p) {
  const float gd = g + p.weight_decay * w;
  const float mn = p.momentum * m + gd;
  m = mn;
  w -= p.lr * (p.nesterov ? gd + p.momentum * mn : mn);
}

// SGD without momentum: w -= lr * (g + wd*w). No momentum buffer is touched.
HERD_HD inline void sgd_plain_step(float& w, float g, const sgd_params& p) {
  w -= p.lr * (g + p.weight_decay * w);
}

// Adam constants for one step; the bias corrections depend only on the step,
// so the launcher computes them once on the host.
struct adam_step_consts {
  float lr, beta1, beta2, eps, weight_decay;
  float inv_bc1; // 1 / (1 - beta1^step)
  float inv_bc2; // 1 / (1 - beta2^step)
};

// step is 1-based.
inline adam_step_consts make_adam_step_consts(const adam_params& p,
                                              int64_t step) {
  const double t = static_cast<double>(step);
  const double bc1 = 1.0 - std::pow(static_cast<double>(p.beta1), t);
  const double bc2 = 1.0 - std::pow(static_cast<double>(p.beta2), t);
  return {p.lr,
          p.beta1,
          p.beta2,
          p.eps,
          p.weight_decay,
          static_cast<float>(1.0 / bc1),
          static_cast<float>(1.0 / bc2)};
}

// Classic Adam with L2 weight decay folded into the gradient:
//   g' = g + wd*w;  m = b1*m + (1-b1)*g';  v = b2*v + (1-b2)*g'^2
//   w -= lr * (m/bc1) / (sqrt(v/bc2) + eps)
HERD_HD inline void adam_step(float& w, float& m, float& v, float g,
                              const adam_step_consts& k) {
  const float gd = g + k.weight_decay * w;
  const float mn = k.beta1 * m + (1.0f - k.beta1) * gd;
  const float vn = k.beta2 * v + (1.0f - k.beta2) * gd * gd;
  m = mn;
  v = vn;
  w -= k.lr * (mn * k.inv_bc1) / (sqrtf(vn * k.inv_bc2) + k.eps);
}

} // namespace herd::kernels
