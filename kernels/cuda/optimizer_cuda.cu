#include "kernels/cuda/optimizer_cuda.hpp"

#include <algorithm>
#include <cassert>

#include <cuda_runtime.h>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/optimizer_math.hpp"

namespace herd::kernels {

namespace {

constexpr unsigned threads_per_block = 256;
// Grid-stride loops: enough blocks to fill an H100/H200, no more.
constexpr size_t max_blocks = 4096;

unsigned blocks_for(size_t n) {
  return static_cast<unsigned>(
    std::min((n + threads_per_block - 1) / threads_per_block, max_blocks));
}

__global__ void sgd_plain_kernel(float* __restrict__ w,
                                 const float* __restrict__ g, size_t n,
                                 sgd_params p) {
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride)
    sgd_plain_step(w[i], g[i], p);
}

__global__ void sgd_momentum_kernel(float* __restrict__ w,
                                    float* __restrict__ m,
                                    const float* __restrict__ g, size_t n,
                                    sgd_params p) {
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride)
    sgd_momentum_step(w[i], m[i], g[i], p);
}

__global__ void adam_kernel(float* __restrict__ w, float* __restrict__ m,
                            float* __restrict__ v, const float* __restrict__ g,
                            size_t n, adam_step_consts k) {
  const size_t stride = size_t(gridDim.x) * blockDim.x;
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride)
    adam_step(w[i], m[i], v[i], g[i], k);
}

} // namespace

void sgd_update_cuda(float* w, float* m, const float* g, size_t n,
                     const sgd_params& p, cudaStream_t s) {
  if (n == 0)
    return;
  if (p.momentum == 0.0f) {
    sgd_plain_kernel<<<blocks_for(n), threads_per_block, 0, s>>>(w, g, n, p);
  } else {
    assert(m != nullptr);
    sgd_momentum_kernel<<<blocks_for(n), threads_per_block, 0, s>>>(w, m, g,
                                                                     n, p);
  }
  HERD_CUDA_CHECK(cudaGetLastError());
}

void adam_update_cuda(float* w, float* m, float* v, const float* g, size_t n,
                      const adam_params& p, int64_t step, cudaStream_t s) {
  assert(step >= 1);
  if (n == 0)
    return;
  const adam_step_consts k = make_adam_step_consts(p, step);
  adam_kernel<<<blocks_for(n), threads_per_block, 0, s>>>(w, m, v, g, n, k);
  HERD_CUDA_CHECK(cudaGetLastError());
}

} // namespace herd::kernels
