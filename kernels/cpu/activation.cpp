#include "kernels/cpu/activation.hpp"

#include <cassert>
#include <cstddef>

namespace herd::kernels {

// The fast paths are branch-free inner loops over contiguous columns so that
// the compiler vectorizes them; the references index element by element.

void bias_relu_forward_cpu(float* y, const float* bias, int rows, int cols,
                           bool relu) {
  assert(rows >= 0 && cols >= 0);
  for (int r = 0; r < rows; ++r) {
    float* __restrict row = y + std::size_t(r) * cols;
    const float* __restrict b = bias;
    if (relu) {
      for (int c = 0; c < cols; ++c) {
        float v = row[c] + b[c];
        row[c] = v > 0.0f ? v : 0.0f;
      }
    } else {
      for (int c = 0; c < cols; ++c)
        row[c] += b[c];
    }
  }
}

void relu_backward_cpu(float* dy, const float* y, int n) {
  assert(n >= 0);
  float* __restrict d = dy;
  const float* __restrict out = y;
  for (int i = 0; i < n; ++i)
    d[i] = out[i] > 0.0f ? d[i] : 0.0f;
}

void bias_grad_cpu(const float* dy, int rows, int cols, float* db) {
  assert(rows >= 0 && cols >= 0);
  float* __restrict acc = db;
  for (int c = 0; c < cols; ++c)
    acc[c] = 0.0f;
  for (int r = 0; r < rows; ++r) {
    const float* __restrict row = dy + std::size_t(r) * cols;
    for (int c = 0; c < cols; ++c)
      acc[c] += row[c];
  }
}

void bias_relu_forward_ref(float* y, const float* bias, int rows, int cols,
                           bool relu) {
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      double v = double(y[std::size_t(r) * cols + c]) + double(bias[c]);
      if (relu && !(v > 0.0))
        v = 0.0;
      y[std::size_t(r) * cols + c] = static_cast<float>(v);
    }
  }
}

void relu_backward_ref(float* dy, const float* y, int n) {
  for (int i = 0; i < n; ++i)
    if (!(y[i] > 0.0f))
      dy[i] = 0.0f;
}

void bias_grad_ref(const float* dy, int rows, int cols, double* db) {
  for (int c = 0; c < cols; ++c) {
    double sum = 0.0;
    for (int r = 0; r < rows; ++r)
      sum += dy[std::size_t(r) * cols + c];
    db[c] = sum;
  }
}

} // namespace herd::kernels
