#pragma once

// GEMM on the GPU through cuBLAS, row-major, with the contract of kernels/cpu/gemm.hpp:
//   C(m x n) = alpha * op(A)(m x k) * op(B)(k x n) + beta * C
// A, B, C are device pointers; leading dimensions in elements, as in gemm_cpu. When beta == 0,
// C is not read. C must not overlap A or B.
// Operand types (C is fp32 and accumulation is fp32 in every mode):
//   fp32: A, B float; plain SGEMM arithmetic.
//   tf32: A, B float; products on TF32 tensor cores (10-bit mantissa inputs), fp32 sums.
//   bf16, fp16: A, B hold uint16_t bit patterns of that format (kernels/compress/half.hpp,
//     cast_cuda.hpp makes them); tensor-core products, fp32 sums.
// Enqueued on `s` (the handle is bound to it); never synchronises. cuBLAS errors throw
// std::runtime_error with file:line.

#include "kernels/cpu/gemm.hpp" // trans

struct CUstream_st;
using cudaStream_t = CUstream_st*;

namespace herd::kernels {

class cublas_handle;

enum class gemm_type { fp32, tf32, bf16, fp16 };

/// "fp32", "tf32", "bf16", "fp16".
const char* gemm_type_name(gemm_type t);

void gemm_cuda(const cublas_handle& h, gemm_type type, trans ta, trans tb, int m, int n, int k,
               float alpha, const void* a, int lda, const void* b, int ldb, float beta,
               float* c, int ldc, cudaStream_t s);

} // namespace herd::kernels
