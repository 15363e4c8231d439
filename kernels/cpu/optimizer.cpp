#include "kernels/cpu/optimizer.hpp"

#include <cassert>
#include <cmath>

#include "kernels/optimizer_math.hpp"

namespace herd::kernels {

namespace {

// Parameters are taken by value (not through a reference the compiler must
// assume aliases w) and the nesterov branch is hoisted, so each loop is a
// straight vectorized stream.
template <bool nesterov>
void sgd_momentum_loop(float* __restrict w, float* __restrict m,
                       const float* __restrict g, size_t n, sgd_params p) {
  p.nesterov = nesterov;
  for (size_t i = 0; i < n; ++i)
    sgd_momentum_step(w[i], m[i], g[i], p);
}

void sgd_plain_loop(float* __restrict w, const float* __restrict g, size_t n,
                    sgd_params p) {
  for (size_t i = 0; i < n; ++i)
    sgd_plain_step(w[i], g[i], p);
}

// Built twice, for AVX2 and for baseline x86-64, picked at load time: the shard runs this once
// per applied update, and 8-wide sqrt/div halve it where the CPU has them. No FMA in either
// clone, so both round every operation the same way.
__attribute__((target_clones("avx2", "default"))) void adam_loop(float* __restrict w, float* __restrict m, float* __restrict v,
               const float* __restrict g, size_t n, adam_step_consts k) {
  for (size_t i = 0; i < n; ++i)
    adam_step(w[i], m[i], v[i], g[i], k);
}

} // namespace

void sgd_update_cpu(float* w, float* m, const float* g, size_t n,
                    const sgd_params& p) {
  if (p.momentum == 0.0f)
    return sgd_plain_loop(w, g, n, p);
  assert(m != nullptr || n == 0);
  if (p.nesterov)
    sgd_momentum_loop<true>(w, m, g, n, p);
  else
    sgd_momentum_loop<false>(w, m, g, n, p);
}

void adam_update_cpu(float* w, float* m, float* v, const float* g, size_t n,
                     const adam_params& p, int64_t step) {
  assert(step >= 1);
  adam_loop(w, m, v, g, n, make_adam_step_consts(p, step));
}

// References: double state, no shared code with the fast path.

void sgd_update_ref(double* w, double* m, const float* g, size_t n,
                    const sgd_params& p) {
  const double lr = p.lr, mu = p.momentum, wd = p.weight_decay;
  for (size_t i = 0; i < n; ++i) {
    double grad = double(g[i]) + wd * w[i];
    if (mu == 0.0) {
      w[i] -= lr * grad;
      continue;
    }
    m[i] = mu * m[i] + grad;
    double step = p.nesterov ? grad + mu * m[i] : m[i];
    w[i] -= lr * step;
  }
}

void adam_update_ref(double* w, double* m, double* v, const float* g,
                     size_t n, const adam_params& p, int64_t step) {
  const double b1 = p.beta1, b2 = p.beta2, wd = p.weight_decay;
  const double t = static_cast<double>(step);
  for (size_t i = 0; i < n; ++i) {
    double grad = double(g[i]) + wd * w[i];
    m[i] = b1 * m[i] + (1.0 - b1) * grad;
    v[i] = b2 * v[i] + (1.0 - b2) * grad * grad;
    double m_hat = m[i] / (1.0 - std::pow(b1, t));
    double v_hat = v[i] / (1.0 - std::pow(b2, t));
    w[i] -= double(p.lr) * m_hat / (std::sqrt(v_hat) + double(p.eps));
  }
}

} // namespace herd::kernels
