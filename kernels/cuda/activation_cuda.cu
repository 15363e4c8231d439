#include "kernels/cuda/activation_cuda.hpp"

#include <cuda_runtime.h>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/launch.cuh"

namespace herd::kernels {

namespace {

using detail::block_threads;
using detail::grid_for;

__global__ void bias_relu_kernel(float* __restrict__ y, const float* __restrict__ bias,
                                 size_t n, int cols, bool relu) {
  HERD_GRID_STRIDE(i, n) {
    float v = y[i] + bias[i % size_t(cols)];
    y[i] = relu ? fmaxf(v, 0.0f) : v;
  }
}

__global__ void relu_backward_kernel(float* __restrict__ dy, const float* __restrict__ y,
                                     size_t n) {
  HERD_GRID_STRIDE(i, n) {
    if (!(y[i] > 0.0f))
      dy[i] = 0.0f;
  }
}

// One thread per column: adjacent threads read adjacent addresses of each row (coalesced).
__global__ void bias_grad_kernel(const float* __restrict__ dy, int rows, int cols,
                                 float* __restrict__ db) {
  HERD_GRID_STRIDE(c, size_t(cols)) {
    float sum = 0.0f;
    for (int r = 0; r < rows; ++r)
      sum += dy[size_t(r) * cols + c];
    db[c] = sum;
  }
}

} // namespace

void bias_relu_forward_cuda(float* y, const float* bias, int rows, int cols, bool relu,
                            cudaStream_t s) {
  const size_t n = size_t(rows) * size_t(cols);
  if (n == 0)
    return;
  bias_relu_kernel<<<grid_for(n), block_threads, 0, s>>>(y, bias, n, cols, relu);
  HERD_CUDA_CHECK(cudaGetLastError());
}

void relu_backward_cuda(float* dy, const float* y, int n, cudaStream_t s) {
  if (n <= 0)
    return;
  relu_backward_kernel<<<grid_for(size_t(n)), block_threads, 0, s>>>(dy, y, size_t(n));
  HERD_CUDA_CHECK(cudaGetLastError());
}

void bias_grad_cuda(const float* dy, int rows, int cols, float* db, cudaStream_t s) {
  if (cols <= 0)
    return;
  bias_grad_kernel<<<grid_for(size_t(cols)), block_threads, 0, s>>>(dy, rows, cols, db);
  HERD_CUDA_CHECK(cudaGetLastError());
}

} // namespace herd::kernels
