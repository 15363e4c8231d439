#pragma once

// Elementwise helpers a GPU step needs, on device pointers; enqueued on `s`, never
// synchronise; a failed launch throws with file:line. The per-element math is the host/device
// code of kernels/compress/half.hpp, so results equal the CPU paths bit for bit.
//
// all_finite_cuda: *bad (device int) = 0 when every x[i] is finite, else nonzero.
// unscale_check_cuda: x[i] *= inv_scale, and *bad as all_finite_cuda on the scaled input
//   (kernels/loss_scaler.hpp; the caller skips the step when *bad != 0).
// round_to_half_cuda: out[i] = float(half(x[i])) (kernels/cpu/round_half.hpp); out may be x.
// to_half_cuda / from_half_cuda: fp32 <-> 16-bit patterns of `f` (bf16 or fp16), round to
//   nearest even; the fp16/bf16 pull and push codecs and the operands of a half GEMM.
// scale_cuda: x[i] *= a.

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/round_half.hpp" // half_format

struct CUstream_st;
using cudaStream_t = CUstream_st*;

namespace herd::kernels {

void all_finite_cuda(const float* x, size_t n, int* bad, cudaStream_t s);
void unscale_check_cuda(float* x, size_t n, float inv_scale, int* bad, cudaStream_t s);
void round_to_half_cuda(const float* x, float* out, size_t n, half_format f, cudaStream_t s);
void to_half_cuda(const float* x, uint16_t* out, size_t n, half_format f, cudaStream_t s);
void from_half_cuda(const uint16_t* x, float* out, size_t n, half_format f, cudaStream_t s);
void scale_cuda(float* x, size_t n, float a, cudaStream_t s);

} // namespace herd::kernels
