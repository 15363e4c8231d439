// Rounding fp32 values in place to what a 16-bit format can hold (round to nearest even), so
// fp32 GEMMs on the rounded operands compute what a bf16/fp16 GEMM with fp32 accumulation
// computes. Debian 12's OpenBLAS declares cblas_sbgemm but is built without it (the symbol is
// missing from libopenblas.so.0), so reduced-precision compute on CPU is emulated this way.
// fp16 overflow gives +-inf (|x| >= 65520), which dynamic loss scaling detects.
#pragma once

#include <cstddef>

namespace herd::kernels {

enum class half_format { bf16, fp16 };

/// x[i] = float(half(x[i])) for i < n.
void round_to_half_cpu(float* x, size_t n, half_format f);

/// out[i] = float(half(x[i])) for i < n (out may equal x).
void round_to_half_cpu(const float* x, float* out, size_t n, half_format f);

} // namespace herd::kernels
