#include "kernels/cuda/codecs_cuda.hpp"

#include <cassert>

#include <cub/device/device_scan.cuh>
#include <cuda_runtime.h>

#include "kernels/compress/codec_params.hpp"
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

constexpr uint64_t int8_salt = 0x696e7438;    // "int8", as int8_codec.cpp
constexpr uint64_t qsgd_salt = 0x71736764;    // "qsgd", as qsgd_codec.cpp
constexpr uint64_t randk_salt = 0x72616e646b; // "randk", as randk_codec.cpp

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

// qsgd_codec's l2_norm: four double partial sums over the elements lo+4i+j, the tail into
// sum 0, combined as (s0 + s1) + (s2 + s3). The four sums of a bucket are four neighbouring
// threads of a warp, each adding in the CPU's order, so the norm is the CPU's to the bit (the
// products of two floats are exact in double: FMA or not, the same sums).
__global__ void qsgd_norm_kernel(const float* __restrict__ g, uint32_t n, uint32_t bucket,
                                 uint32_t buckets, float* __restrict__ scales) {
  const size_t t = size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const size_t b = t / 4;
  const uint32_t j = uint32_t(t % 4);
  double acc = 0.0;
  if (b < buckets) {
    const size_t lo = b * bucket;
    const size_t len = min(size_t(n), lo + bucket) - lo;
    const size_t full = len / 4 * 4;
    for (size_t i = j; i < full; i += 4) {
      const double x = double(g[lo + i]);
      acc = __dadd_rn(acc, __dmul_rn(x, x));
    }
    if (j == 0)
      for (size_t i = full; i < len; ++i) {
        const double x = double(g[lo + i]);
        acc = __dadd_rn(acc, __dmul_rn(x, x));
      }
  }
  // Every lane of the warp takes part (the block is whole warps, so groups of 4 never split).
  const double s1 = __shfl_sync(0xffffffffu, acc, 1, 4);
  const double s2 = __shfl_sync(0xffffffffu, acc, 2, 4);
  const double s3 = __shfl_sync(0xffffffffu, acc, 3, 4);
  if (b < buckets && j == 0)
    scales[b] = __double2float_rn(__dsqrt_rn(__dadd_rn(__dadd_rn(acc, s1), __dadd_rn(s2, s3))));
}

// qsgd_codec's quantize for element i (code = sign | level << 1); 0 for a bucket whose norm is
// 0 or not finite, as on the CPU. r >= 0, so truncf is the CPU's float(int32_t(r)).
__device__ uint32_t qsgd_code(float x, float norm, float s, uint64_t key, uint32_t i) {
  if (!(norm > 0.0f) || !isfinite(norm))
    return 0;
  const float r = __fmul_rn(__fdiv_rn(fabsf(x), norm), s);
  const float fl = truncf(r);
  float level = uniform01(key, i) < __fsub_rn(r, fl) ? __fadd_rn(fl, 1.0f) : fl;
  level = fminf(level, s);
  const uint32_t sign = x < 0.0f && level > 0.0f ? 1u : 0u;
  return sign | (uint32_t(level) << 1);
}

// One thread per eight codes, which fill exactly w bytes of the stream (code_packing.hpp):
// code j of the group at stream bits [j*w, j*w + w) of a 128-bit little-endian accumulator.
__global__ void qsgd_pack_kernel(const float* __restrict__ g, uint32_t n, uint32_t bucket,
                                 float s, uint32_t w, uint64_t key,
                                 const float* __restrict__ scales, uint8_t* __restrict__ data) {
  HERD_GRID_STRIDE(q, (size_t(n) + 7) / 8) {
    const size_t first = 8 * q;
    const uint32_t m = uint32_t(min(size_t(8), size_t(n) - first));
    uint64_t acc[2] = {0, 0};
    for (uint32_t j = 0; j < m; ++j) {
      const size_t i = first + j;
      const uint64_t code = qsgd_code(g[i], scales[i / bucket], s, key, uint32_t(i));
      const uint32_t at = j * w;
      acc[at / 64] |= code << (at % 64);
      if (at % 64 != 0 && at % 64 + w > 64) // straddles the two halves
        acc[1] |= code >> (64 - at % 64);
    }
    const uint32_t bytes = (m * w + 7) / 8;
    for (uint32_t k = 0; k < bytes; ++k)
      data[q * w + k] = uint8_t(acc[k / 8] >> (8 * (k % 8)));
  }
}

// randk_indices' draw for Floyd's step j: a position in [0, j] (uniform_below's multiply-shift).
__device__ uint32_t floyd_draw(uint64_t key, uint32_t j) {
  return uint32_t(__umul64hi(draw64(key, j), uint64_t(j) + 1));
}

// Floyd's loop (randk_indices): for j = lo .. n-1 draw t_j in [0, j] and take t_j, or j when
// t_j is already taken. So the set is every draw, plus each j whose draw was taken before
// step j: drawn at an earlier step (first[t] < j), or t in [lo, j) taken by step t itself,
// which is the same question one step down. `first[v]` is the earliest step that drew v.
__device__ bool floyd_took_itself(uint64_t key, const uint32_t* __restrict__ first, uint32_t lo,
                                  uint32_t j) {
  for (;;) {
    const uint32_t t = floyd_draw(key, j);
    if (first[t] < j)
      return true;
    if (t < lo || t == j)
      return false;
    j = t; // strictly decreasing: ends
  }
}

__global__ void floyd_first_kernel(uint64_t key, uint32_t lo, uint32_t n,
                                   uint32_t* __restrict__ first) {
  HERD_GRID_STRIDE(d, size_t(n - lo)) {
    const uint32_t j = lo + uint32_t(d);
    atomicMin(&first[floyd_draw(key, j)], j);
  }
}

__global__ void floyd_mark_kernel(uint64_t key, uint32_t lo, uint32_t n,
                                  const uint32_t* __restrict__ first,
                                  uint32_t* __restrict__ words) {
  HERD_GRID_STRIDE(d, size_t(n - lo)) {
    const uint32_t j = lo + uint32_t(d);
    const uint32_t t = floyd_draw(key, j);
    atomicOr(&words[t / 32], 1u << (t % 32));
    if (floyd_took_itself(key, first, lo, j))
      atomicOr(&words[j / 32], 1u << (j % 32));
  }
}

__global__ void popcount_kernel(const uint32_t* __restrict__ words, uint32_t nw,
                                uint32_t* __restrict__ counts) {
  HERD_GRID_STRIDE(w, size_t(nw)) { counts[w] = uint32_t(__popc(words[w])); }
}

// The positions of word w go to idx from its exclusive prefix count on: ascending overall.
__global__ void randk_emit_kernel(const float* __restrict__ g, const uint32_t* __restrict__ words,
                                  const uint32_t* __restrict__ offsets, uint32_t nw, float scale,
                                  uint32_t* __restrict__ idx, float* __restrict__ val) {
  HERD_GRID_STRIDE(w, size_t(nw)) {
    uint32_t o = offsets[w];
    for (uint32_t bits = words[w]; bits != 0; bits &= bits - 1) {
      const uint32_t i = uint32_t(w) * 32 + uint32_t(__ffs(int(bits)) - 1);
      idx[o] = i;
      val[o] = __fmul_rn(g[i], scale);
      ++o;
    }
  }
}

// randk_encode_cuda's scratch, carved from one buffer: first (n uint32), the bitmap words,
// their counts and offsets (nw uint32 each), then cub's scan storage; 256-byte aligned parts.
struct randk_layout {
  size_t first, words, counts, offsets, temp, temp_bytes, total;
};

size_t align256(size_t x) {
  return (x + 255) / 256 * 256;
}

randk_layout randk_layout_for(uint32_t n) {
  const uint32_t nw = (n + 31) / 32;
  randk_layout l{};
  l.first = 0;
  l.words = align256(4 * size_t(n));
  l.counts = l.words + align256(4 * size_t(nw));
  l.offsets = l.counts + align256(4 * size_t(nw));
  l.temp = l.offsets + align256(4 * size_t(nw));
  HERD_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, l.temp_bytes,
                                                static_cast<const uint32_t*>(nullptr),
                                                static_cast<uint32_t*>(nullptr), nw));
  l.total = l.temp + align256(l.temp_bytes);
  return l;
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

void qsgd_encode_cuda(const float* g, uint32_t n, uint32_t bucket, uint32_t levels,
                      uint64_t step_seed, uint8_t* data, float* scales, cudaStream_t s) {
  if (n == 0)
    return;
  assert(levels >= 1 && levels <= qsgd_max_levels);
  bucket = bucket == 0 ? 1 : bucket;
  const uint32_t buckets = (n + bucket - 1) / bucket;
  const size_t norm_threads = 4 * size_t(buckets); // four per bucket
  const auto norm_blocks = unsigned((norm_threads + block_threads - 1) / block_threads);
  qsgd_norm_kernel<<<norm_blocks, block_threads, 0, s>>>(g, n, bucket, buckets, scales);
  HERD_CUDA_CHECK(cudaGetLastError());
  uint32_t w = 1; // 1 + bit_width(levels): qsgd_codec::code_bits
  for (uint32_t v = levels; v != 0; v >>= 1)
    ++w;
  qsgd_pack_kernel<<<grid_for((size_t(n) + 7) / 8), block_threads, 0, s>>>(
    g, n, bucket, float(levels), w, stream_key(step_seed, qsgd_salt), scales, data);
  HERD_CUDA_CHECK(cudaGetLastError());
}

size_t randk_work_bytes(uint32_t n) {
  return randk_layout_for(n).total;
}

void randk_encode_cuda(const float* g, uint32_t n, uint32_t k, uint64_t step_seed, void* work,
                       size_t work_bytes, uint32_t* idx, float* val, cudaStream_t s) {
  if (n == 0 || k == 0)
    return;
  assert(k <= n);
  const randk_layout l = randk_layout_for(n);
  assert(l.total <= work_bytes);
  (void)work_bytes;
  auto* base = static_cast<uint8_t*>(work);
  auto* first = reinterpret_cast<uint32_t*>(base + l.first);
  auto* words = reinterpret_cast<uint32_t*>(base + l.words);
  auto* counts = reinterpret_cast<uint32_t*>(base + l.counts);
  auto* offsets = reinterpret_cast<uint32_t*>(base + l.offsets);
  const uint32_t nw = (n + 31) / 32;
  const uint32_t lo = n - k;
  const uint64_t key = stream_key(step_seed, randk_salt);
  HERD_CUDA_CHECK(cudaMemsetAsync(first, 0xff, 4 * size_t(n), s));
  HERD_CUDA_CHECK(cudaMemsetAsync(words, 0, 4 * size_t(nw), s));
  floyd_first_kernel<<<grid_for(k), block_threads, 0, s>>>(key, lo, n, first);
  HERD_CUDA_CHECK(cudaGetLastError());
  floyd_mark_kernel<<<grid_for(k), block_threads, 0, s>>>(key, lo, n, first, words);
  HERD_CUDA_CHECK(cudaGetLastError());
  popcount_kernel<<<grid_for(nw), block_threads, 0, s>>>(words, nw, counts);
  HERD_CUDA_CHECK(cudaGetLastError());
  size_t temp_bytes = l.temp_bytes;
  HERD_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(base + l.temp, temp_bytes,
                                                static_cast<const uint32_t*>(counts), offsets,
                                                nw, s));
  const float scale = float(double(n) / k); // as randk_codec
  randk_emit_kernel<<<grid_for(nw), block_threads, 0, s>>>(g, words, offsets, nw, scale, idx,
                                                           val);
  HERD_CUDA_CHECK(cudaGetLastError());
}

} // namespace herd::kernels
