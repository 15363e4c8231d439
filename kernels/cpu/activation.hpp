#pragma once

// Dense-layer activation helpers on the CPU. Row-major, float in and out.
//
// bias_relu_forward: y is rows x cols (contiguous); y[r][c] += bias[c], then
//   y = max(0, y) when relu. In place; bias (cols) must not overlap y.
// relu_backward: dy[i] = y[i] > 0 ? dy[i] : 0 for i < n, y the forward output
//   (after ReLU). In place on dy; y must not overlap dy.
// bias_grad: db[c] = sum_r dy[r][c]; overwrites db (cols). db must not overlap
//   dy. The fast path sums in float row by row; the reference sums in double.
// All sizes >= 0.

namespace herd::kernels {

void bias_relu_forward_cpu(float* y, const float* bias, int rows, int cols,
                           bool relu);
void relu_backward_cpu(float* dy, const float* y, int n);
void bias_grad_cpu(const float* dy, int rows, int cols, float* db);

// Plain references (one element at a time; bias_grad_ref accumulates in double).
void bias_relu_forward_ref(float* y, const float* bias, int rows, int cols,
                           bool relu);
void relu_backward_ref(float* dy, const float* y, int n);
void bias_grad_ref(const float* dy, int rows, int cols, double* db);

} // namespace herd::kernels
