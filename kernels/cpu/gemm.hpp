#pragma once

// Single-precision GEMM on the CPU, row-major throughout.
//
// Contract (both functions):
//   C(m x n) = alpha * op(A)(m x k) * op(B)(k x n) + beta * C
//   op(X) = X when trans::no, X^T when trans::yes.
//   A is stored m x k (trans::no, lda >= k) or k x m (trans::yes, lda >= m);
//   B is stored k x n (trans::no, ldb >= n) or n x k (trans::yes, ldb >= k);
//   C is m x n with ldc >= n. All leading dimensions are in elements and >= 1.
//   When beta == 0, C is not read (it may hold garbage or NaN), as in BLAS.
//   C must not overlap A or B. m, n, k >= 0; k == 0 gives C = beta * C.
// Precision: gemm_cpu is OpenBLAS sgemm (float accumulation, blocked order);
// gemm_ref is a naive triple loop accumulating in double, the independent
// reference the tests compare against.

namespace herd::kernels {

enum class trans : bool { no, yes };

void gemm_cpu(trans ta, trans tb, int m, int n, int k, float alpha,
              const float* a, int lda, const float* b, int ldb, float beta,
              float* c, int ldc);

void gemm_ref(trans ta, trans tb, int m, int n, int k, float alpha,
              const float* a, int lda, const float* b, int ldb, float beta,
              float* c, int ldc);

} // namespace herd::kernels
