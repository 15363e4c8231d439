#include "kernels/cpu/gemm.hpp"

#include <cassert>

#include <cblas.h>

namespace herd::kernels {

namespace {

[[maybe_unused]] bool valid_shape(trans ta, trans tb, int m, int n, int k,
                                  int lda, int ldb, int ldc) {
  auto max1 = [](int x) { return x > 1 ? x : 1; };
  int a_cols = ta == trans::no ? k : m;
  int b_cols = tb == trans::no ? n : k;
  return m >= 0 && n >= 0 && k >= 0 && lda >= max1(a_cols)
         && ldb >= max1(b_cols) && ldc >= max1(n);
}

} // namespace

void gemm_cpu(trans ta, trans tb, int m, int n, int k, float alpha,
              const float* a, int lda, const float* b, int ldb, float beta,
              float* c, int ldc) {
  assert(valid_shape(ta, tb, m, n, k, lda, ldb, ldc));
  if (m == 0 || n == 0)
    return;
  auto op = [](trans t) { return t == trans::yes ? CblasTrans : CblasNoTrans; };
  cblas_sgemm(CblasRowMajor, op(ta), op(tb), m, n, k, alpha, a, lda, b, ldb,
              beta, c, ldc);
}

void gemm_ref(trans ta, trans tb, int m, int n, int k, float alpha,
              const float* a, int lda, const float* b, int ldb, float beta,
              float* c, int ldc) {
  assert(valid_shape(ta, tb, m, n, k, lda, ldb, ldc));
  auto at = [&](int i, int p) -> double {
    return ta == trans::no ? a[i * lda + p] : a[p * lda + i];
  };
  auto bt = [&](int p, int j) -> double {
    return tb == trans::no ? b[p * ldb + j] : b[j * ldb + p];
  };
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double acc = 0.0;
      for (int p = 0; p < k; ++p)
        acc += at(i, p) * bt(p, j);
      double old = beta == 0.0f ? 0.0 : double(beta) * c[i * ldc + j];
      c[i * ldc + j] = static_cast<float>(double(alpha) * acc + old);
    }
  }
}

} // namespace herd::kernels
