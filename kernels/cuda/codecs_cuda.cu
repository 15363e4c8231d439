#include "kernels/cuda/codecs_cuda.hpp"

#include <cuda_runtime.h>

#include "kernels/compress/counter_rng.hpp"
#include "kernels/compress/half.hpp"
#include "kernels/compress/topk_candidates.hpp"
#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/launch.cuh"

namespace herd::kernels {

namespace {

using namespace compress;
using detail::block_threads;
using detail::grid_for;

constexpr uint64_t int8_salt = 0x696e7438; // "int8", as int8_codec.cpp

// One block per bucket: absmax (and NaN) by a shared-memory tree, then the codes.
__global__ void int8_kernel(const float* __restrict__ g, uint32_t n, uint32_t bucket,
                            uint64_t key, int8_t* __restrict__ codes,
                            float* __restrict__ scales) {
  __shared__ float mx[block_threads];
  __shared__ int nan[block_threads];
  const size_t lo = size_t(blockIdx.x) * bucket;
  const size_t hi = min(size_t(n), lo + bucket);
  float m = 0.0f;
  int isnan_any = 0;
  for (size_t i = lo + threadIdx.x; i < hi; i += blockDim.x) {
    m = fmaxf(m, fabsf(g[i]));
    isnan_any |= isnan(g[i]) ? 1 : 0;
  }
  mx[threadIdx.x] = m;
  nan[threadIdx.x] = isnan_any;
  __syncthreads();
  for (unsigned w = blockDim.x / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) {
      mx[threadIdx.x] = fmaxf(mx[threadIdx.x], mx[threadIdx.x + w]);
      nan[threadIdx.x] |= nan[threadIdx.x + w];
    }
    __syncthreads();
  }
  const float scale = nan[0] ? __int_as_float(0x7fc00000) : mx[0] / 127.0f;
  if (threadIdx.x == 0)
    scales[blockIdx.x] = scale;
  const bool usable = scale > 0.0f && isfinite(scale);
  for (size_t i = lo + threadIdx.x; i < hi; i += blockDim.x) {
    if (!usable) {
      codes[i] = 0;
      continue;
    }
    const float t = g[i] / scale;
    const float fl = floorf(t);
    float q = uniform01(key, uint32_t(i)) < t - fl ? fl + 1.0f : fl;
    q = fminf(fmaxf(q, -127.0f), 127.0f);
    codes[i] = int8_t(int32_t(q));
  }
}

__global__ void sign_scale_kernel(const float* __restrict__ g, uint32_t n, uint32_t bucket,
                                  float* __restrict__ scales) {
  __shared__ double part[block_threads];
  const size_t lo = size_t(blockIdx.x) * bucket;
  const size_t hi = min(size_t(n), lo + bucket);
  double acc = 0.0;
  for (size_t i = lo + threadIdx.x; i < hi; i += blockDim.x)
    acc += fabs(double(g[i]));
  part[threadIdx.x] = acc;
  detail::block_sum(part);
  if (threadIdx.x == 0)
    scales[blockIdx.x] = float(part[0] / double(hi - lo));
}

__global__ void sign_bits_kernel(const float* __restrict__ g, uint32_t n,
                                 uint8_t* __restrict__ bits) {
  HERD_GRID_STRIDE(b, (size_t(n) + 7) / 8) {
    uint32_t byte = 0;
    for (uint32_t j = 0; j < 8; ++j) {
      const size_t i = 8 * b + j;
      if (i < n)
        byte |= uint32_t(g[i] < 0.0f) << j;
    }
    bits[b] = uint8_t(byte);
  }
}

__global__ void histogram_kernel(const float* __restrict__ g, uint32_t n,
                                 uint32_t* __restrict__ hist) {
  __shared__ uint32_t local[topk_buckets];
  for (uint32_t b = threadIdx.x; b < topk_buckets; b += blockDim.x)
    local[b] = 0;
  __syncthreads();
  HERD_GRID_STRIDE(i, size_t(n)) atomicAdd(&local[topk_bucket_key(float_bits(g[i]))], 1u);
  __syncthreads();
  for (uint32_t b = threadIdx.x; b < topk_buckets; b += blockDim.x)
    if (local[b])
      atomicAdd(&hist[b], local[b]);
}

// One thread: the bucket holding the k-th largest key, stored after the histogram.
__global__ void threshold_kernel(uint32_t* hist, uint32_t k) {
  uint32_t seen = 0;
  uint32_t b = topk_buckets;
  while (b > 0 && seen < k)
    seen += hist[--b];
  hist[topk_buckets] = b;
}

__global__ void gather_kernel(const float* __restrict__ g, uint32_t n,
                              const uint32_t* __restrict__ hist, uint32_t* __restrict__ idx,
                              float* __restrict__ val, uint32_t* __restrict__ count) {
  const uint32_t lo = hist[topk_buckets];
  HERD_GRID_STRIDE(i, size_t(n)) {
    const float v = g[i];
    if (topk_bucket_key(float_bits(v)) >= lo) {
      const uint32_t at = atomicAdd(count, 1u);
      idx[at] = uint32_t(i);
      val[at] = v;
    }
  }
}

} // namespace

void int8_encode_cuda(const float* g, uint32_t n, uint32_t bucket, uint64_t step_seed,
                      int8_t* codes, float* scales, cudaStream_t s) {
  if (n == 0)
    return;
  bucket = bucket == 0 ? 1 : bucket;
  const uint32_t buckets = (n + bucket - 1) / bucket;
  int8_kernel<<<buckets, block_threads, 0, s>>>(g, n, bucket, stream_key(step_seed, int8_salt),
                                                codes, scales);
  HERD_CUDA_CHECK(cudaGetLastError());
}

void sign_encode_cuda(const float* g, uint32_t n, uint32_t bucket, uint8_t* bits,
                      float* scales, cudaStream_t s) {
  if (n == 0)
    return;
  bucket = bucket == 0 ? 1 : bucket;
  const uint32_t buckets = (n + bucket - 1) / bucket;
  sign_scale_kernel<<<buckets, block_threads, 0, s>>>(g, n, bucket, scales);
  HERD_CUDA_CHECK(cudaGetLastError());
  sign_bits_kernel<<<grid_for((size_t(n) + 7) / 8), block_threads, 0, s>>>(g, n, bits);
  HERD_CUDA_CHECK(cudaGetLastError());
}

void topk_candidates_cuda(const float* g, uint32_t n, uint32_t k, uint32_t* hist,
                          uint32_t* cand_idx, float* cand_val, uint32_t* cand_count,
                          cudaStream_t s) {
  HERD_CUDA_CHECK(cudaMemsetAsync(hist, 0, (topk_buckets + 1) * sizeof(uint32_t), s));
  HERD_CUDA_CHECK(cudaMemsetAsync(cand_count, 0, sizeof(uint32_t), s));
  if (n == 0 || k == 0)
    return;
  histogram_kernel<<<grid_for(n), block_threads, 0, s>>>(g, n, hist);
  HERD_CUDA_CHECK(cudaGetLastError());
  threshold_kernel<<<1, 1, 0, s>>>(hist, k);
  HERD_CUDA_CHECK(cudaGetLastError());
  gather_kernel<<<grid_for(n), block_threads, 0, s>>>(g, n, hist, cand_idx, cand_val,
                                                      cand_count);
  HERD_CUDA_CHECK(cudaGetLastError());
}

} // namespace herd::kernels
