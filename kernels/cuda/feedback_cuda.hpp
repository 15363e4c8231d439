#pragma once

// Error feedback on the GPU (kernels/compress/error_feedback.hpp): the residual r stays on the
// device next to the gradient. c = g + r is formed in place in r (add_into_cuda), encoded by
// codecs_cuda / elementwise_cuda, then r = c - decode(encoding) in place by the kernel for the
// codec - the CPU's float operations in the same order (products rounded before the
// subtraction, no FMA contraction), so r matches the CPU residual bit for bit.
// Device pointers; enqueued on `s`, never synchronise; launch failures throw with file:line.

#include <cstdint>

#include "kernels/cpu/round_half.hpp" // half_format

struct CUstream_st;
using cudaStream_t = CUstream_st*;

namespace herd::kernels {

/// r[i] = g[i] + r[i].
void add_into_cuda(float* r, const float* g, uint32_t n, cudaStream_t s);
/// topk sent c[idx[j]] exactly: r[idx[j]] = 0 for j < k (idx device, < n).
void feedback_topk_cuda(float* r, const uint32_t* idx, uint32_t k, cudaStream_t s);
/// r[i] -= codes[i] * scales[i / bucket] (int8_codec's decode).
void feedback_int8_cuda(float* r, const int8_t* codes, const float* scales, uint32_t n,
                        uint32_t bucket, cudaStream_t s);
/// r[i] -= (bit i of bits set ? -1 : 1) * scales[i / bucket] (sign_codec's decode).
void feedback_sign_cuda(float* r, const uint8_t* bits, const float* scales, uint32_t n,
                        uint32_t bucket, cudaStream_t s);
/// r[i] -= qsgd_codec's decode of element i: sign * level * (scales[i / bucket] / levels), the
/// code read from the packed stream `data` (1 + bit_width(levels) bits per element).
void feedback_qsgd_cuda(float* r, const uint8_t* data, const float* scales, uint32_t n,
                        uint32_t bucket, uint32_t levels, cudaStream_t s);
/// r[idx[j]] -= val[j] for j < k (randk_codec's decode; idx distinct, < n); the rest of r
/// keeps c (c - 0 on the CPU).
void feedback_randk_cuda(float* r, const uint32_t* idx, const float* val, uint32_t k,
                         cudaStream_t s);
/// r[i] -= float(half(r[i])) (the fp16/bf16 codecs' round trip).
void feedback_half_cuda(float* r, uint32_t n, half_format f, cudaStream_t s);

} // namespace herd::kernels
