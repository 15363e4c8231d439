#include "kernels/cuda/elementwise_cuda.hpp"

#include <cuda_runtime.h>

#include "kernels/compress/half.hpp"
#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/launch.cuh"

namespace herd::kernels {

namespace {

using namespace compress;
using detail::block_threads;
using detail::grid_for;

__device__ inline bool finite(float v) {
  return (float_bits(v) & 0x7f800000u) != 0x7f800000u;
}

// *bad starts at 0 (memset by the launcher, which a graph can capture); a block that sees a
// non-finite value sets it. Racing stores all write 1, so no atomics are needed.
__global__ void finite_kernel(const float* __restrict__ x, size_t n, int* bad) {
  bool ok = true;
  HERD_GRID_STRIDE(i, n) ok &= finite(x[i]);
  if (!__syncthreads_and(ok) && threadIdx.x == 0)
    *bad = 1;
}

__global__ void unscale_kernel(float* __restrict__ x, size_t n, float inv_scale, int* bad) {
  bool ok = true;
  HERD_GRID_STRIDE(i, n) {
    ok &= finite(x[i]);
    x[i] *= inv_scale;
  }
  if (!__syncthreads_and(ok) && threadIdx.x == 0)
    *bad = 1;
}

__global__ void round_kernel(const float* x, float* out, size_t n, bool bf16) {
  HERD_GRID_STRIDE(i, n) {
    out[i] = bf16 ? bf16_to_float(float_to_bf16(x[i])) : fp16_to_float(float_to_fp16(x[i]));
  }
}

__global__ void to_half_kernel(const float* __restrict__ x, uint16_t* __restrict__ out,
                               size_t n, bool bf16) {
  HERD_GRID_STRIDE(i, n) { out[i] = bf16 ? float_to_bf16(x[i]) : float_to_fp16(x[i]); }
}

__global__ void from_half_kernel(const uint16_t* __restrict__ x, float* __restrict__ out,
                                 size_t n, bool bf16) {
  HERD_GRID_STRIDE(i, n) { out[i] = bf16 ? bf16_to_float(x[i]) : fp16_to_float(x[i]); }
}

__global__ void scale_kernel(float* __restrict__ x, size_t n, float a) {
  HERD_GRID_STRIDE(i, n) { x[i] *= a; }
}

} // namespace

void all_finite_cuda(const float* x, size_t n, int* bad, cudaStream_t s) {
  HERD_CUDA_CHECK(cudaMemsetAsync(bad, 0, sizeof(int), s));
  if (n == 0)
    return;
  finite_kernel<<<grid_for(n), block_threads, 0, s>>>(x, n, bad);
  HERD_CUDA_CHECK(cudaGetLastError());
}

void unscale_check_cuda(float* x, size_t n, float inv_scale, int* bad, cudaStream_t s) {
  HERD_CUDA_CHECK(cudaMemsetAsync(bad, 0, sizeof(int), s));
  if (n == 0)
    return;
  unscale_kernel<<<grid_for(n), block_threads, 0, s>>>(x, n, inv_scale, bad);
  HERD_CUDA_CHECK(cudaGetLastError());
}

void round_to_half_cuda(const float* x, float* out, size_t n, half_format f, cudaStream_t s) {
  if (n == 0)
    return;
  round_kernel<<<grid_for(n), block_threads, 0, s>>>(x, out, n, f == half_format::bf16);
  HERD_CUDA_CHECK(cudaGetLastError());
}

void to_half_cuda(const float* x, uint16_t* out, size_t n, half_format f, cudaStream_t s) {
  if (n == 0)
    return;
  to_half_kernel<<<grid_for(n), block_threads, 0, s>>>(x, out, n, f == half_format::bf16);
  HERD_CUDA_CHECK(cudaGetLastError());
}

void from_half_cuda(const uint16_t* x, float* out, size_t n, half_format f, cudaStream_t s) {
  if (n == 0)
    return;
  from_half_kernel<<<grid_for(n), block_threads, 0, s>>>(x, out, n, f == half_format::bf16);
  HERD_CUDA_CHECK(cudaGetLastError());
}

void scale_cuda(float* x, size_t n, float a, cudaStream_t s) {
  if (n == 0)
    return;
  scale_kernel<<<grid_for(n), block_threads, 0, s>>>(x, n, a);
  HERD_CUDA_CHECK(cudaGetLastError());
}

} // namespace herd::kernels
