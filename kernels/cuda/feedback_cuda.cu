#include "kernels/cuda/feedback_cuda.hpp"

#include <cuda_runtime.h>

#include "kernels/compress/half.hpp"
#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/launch.cuh"

namespace herd::kernels {

namespace {

using namespace compress;
using detail::block_threads;
using detail::grid_for;

__global__ void add_kernel(float* __restrict__ r, const float* __restrict__ g, uint32_t n) {
  HERD_GRID_STRIDE(i, size_t(n)) { r[i] = __fadd_rn(g[i], r[i]); }
}

__global__ void topk_kernel(float* __restrict__ r, const uint32_t* __restrict__ idx,
                            uint32_t k) {
  HERD_GRID_STRIDE(j, size_t(k)) { r[idx[j]] = 0.0f; }
}

__global__ void int8_kernel(float* __restrict__ r, const int8_t* __restrict__ codes,
                            const float* __restrict__ scales, uint32_t n, uint32_t bucket) {
  HERD_GRID_STRIDE(i, size_t(n)) {
    r[i] = __fsub_rn(r[i], __fmul_rn(float(codes[i]), scales[i / bucket]));
  }
}

__global__ void sign_kernel(float* __restrict__ r, const uint8_t* __restrict__ bits,
                            const float* __restrict__ scales, uint32_t n, uint32_t bucket) {
  HERD_GRID_STRIDE(i, size_t(n)) {
    const uint32_t neg = (bits[i / 8] >> (i % 8)) & 1u;
    r[i] = __fsub_rn(r[i], bits_float(float_bits(scales[i / bucket]) | (neg << 31)));
  }
}

__global__ void qsgd_kernel(float* __restrict__ r, const uint8_t* __restrict__ data,
                            const float* __restrict__ scales, uint32_t n, uint32_t bucket,
                            uint32_t levels, uint32_t w) {
  const float s = float(levels);
  HERD_GRID_STRIDE(i, size_t(n)) {
    // The code's w <= 16 bits start at stream bit i*w: within 3 bytes, all inside the stream.
    const size_t bit = i * w;
    const uint32_t shift = uint32_t(bit % 8);
    const uint8_t* p = data + bit / 8;
    uint32_t v = p[0];
    if (shift + w > 8)
      v |= uint32_t(p[1]) << 8;
    if (shift + w > 16)
      v |= uint32_t(p[2]) << 16;
    const uint32_t code = (v >> shift) & ((1u << w) - 1u);
    const float m = __fmul_rn(float(code >> 1), __fdiv_rn(scales[i / bucket], s));
    r[i] = __fsub_rn(r[i], (code & 1u) ? -m : m);
  }
}

__global__ void randk_kernel(float* __restrict__ r, const uint32_t* __restrict__ idx,
                             const float* __restrict__ val, uint32_t k) {
  HERD_GRID_STRIDE(j, size_t(k)) { r[idx[j]] = __fsub_rn(r[idx[j]], val[j]); }
}

__global__ void half_kernel(float* __restrict__ r, uint32_t n, bool bf16) {
  HERD_GRID_STRIDE(i, size_t(n)) {
    const float c = r[i];
    const float d = bf16 ? bf16_to_float(float_to_bf16(c)) : fp16_to_float(float_to_fp16(c));
    r[i] = __fsub_rn(c, d);
  }
}

} // namespace

void add_into_cuda(float* r, const float* g, uint32_t n, cudaStream_t s) {
  if (n == 0)
    return;
  add_kernel<<<grid_for(n), block_threads, 0, s>>>(r, g, n);
  HERD_CUDA_CHECK(cudaGetLastError());
}

void feedback_topk_cuda(float* r, const uint32_t* idx, uint32_t k, cudaStream_t s) {
  if (k == 0)
    return;
  topk_kernel<<<grid_for(k), block_threads, 0, s>>>(r, idx, k);
  HERD_CUDA_CHECK(cudaGetLastError());
}

void feedback_int8_cuda(float* r, const int8_t* codes, const float* scales, uint32_t n,
                        uint32_t bucket, cudaStream_t s) {
  if (n == 0)
    return;
  int8_kernel<<<grid_for(n), block_threads, 0, s>>>(r, codes, scales, n, bucket ? bucket : 1);
  HERD_CUDA_CHECK(cudaGetLastError());
}

void feedback_sign_cuda(float* r, const uint8_t* bits, const float* scales, uint32_t n,
                        uint32_t bucket, cudaStream_t s) {
  if (n == 0)
    return;
  sign_kernel<<<grid_for(n), block_threads, 0, s>>>(r, bits, scales, n, bucket ? bucket : 1);
  HERD_CUDA_CHECK(cudaGetLastError());
}

void feedback_qsgd_cuda(float* r, const uint8_t* data, const float* scales, uint32_t n,
                        uint32_t bucket, uint32_t levels, cudaStream_t s) {
  if (n == 0)
    return;
  uint32_t w = 1; // qsgd_codec::code_bits(levels)
  for (uint32_t v = levels; v != 0; v >>= 1)
    ++w;
  qsgd_kernel<<<grid_for(n), block_threads, 0, s>>>(r, data, scales, n, bucket ? bucket : 1,
                                                    levels, w);
  HERD_CUDA_CHECK(cudaGetLastError());
}

void feedback_randk_cuda(float* r, const uint32_t* idx, const float* val, uint32_t k,
                         cudaStream_t s) {
  if (k == 0)
    return;
  randk_kernel<<<grid_for(k), block_threads, 0, s>>>(r, idx, val, k);
  HERD_CUDA_CHECK(cudaGetLastError());
}

void feedback_half_cuda(float* r, uint32_t n, half_format f, cudaStream_t s) {
  if (n == 0)
    return;
  half_kernel<<<grid_for(n), block_threads, 0, s>>>(r, n, f == half_format::bf16);
  HERD_CUDA_CHECK(cudaGetLastError());
}

} // namespace herd::kernels
