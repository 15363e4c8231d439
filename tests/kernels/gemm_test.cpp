#include "kernels/cpu/gemm.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include <catch2/catch.hpp>

#include "kernels/cpu/blas_threads.hpp"
#include "tests/kernels/test_util.hpp"

using namespace herd::kernels;
using namespace herd::kernels::test;

namespace {

constexpr float nan_f = std::numeric_limits<float>::quiet_NaN();
constexpr float c_pad = -777.0f; // padding of C must come back untouched

// A rows x cols matrix stored with leading dimension ld > cols; the padding
// is NaN for inputs so reading it poisons the result.
std::vector<float> padded(std::mt19937_64& rng, int rows, int cols, int ld,
                          float pad) {
  std::vector<float> out(size_t(rows) * ld, pad);
  auto vals = random_floats(rng, size_t(rows) * cols);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      out[size_t(r) * ld + c] = vals[size_t(r) * cols + c];
  return out;
}

// Runs gemm_cpu and gemm_ref on the same padded inputs and checks them.
void check_gemm(std::mt19937_64& rng, trans ta, trans tb, int m, int n, int k,
                float alpha, float beta) {
  INFO("ta=" << (ta == trans::yes) << " tb=" << (tb == trans::yes) << " m="
             << m << " n=" << n << " k=" << k << " alpha=" << alpha
             << " beta=" << beta);
  const int a_rows = ta == trans::no ? m : k;
  const int a_cols = ta == trans::no ? k : m;
  const int b_rows = tb == trans::no ? k : n;
  const int b_cols = tb == trans::no ? n : k;
  const int lda = a_cols + 3, ldb = b_cols + 5, ldc = n + 2;
  auto a = padded(rng, a_rows, a_cols, lda, nan_f);
  auto b = padded(rng, b_rows, b_cols, ldb, nan_f);
  auto c = padded(rng, m, n, ldc, c_pad);
  if (beta == 0.0f) // C must not be read: poison it
    for (int r = 0; r < m; ++r)
      for (int j = 0; j < n; ++j)
        c[size_t(r) * ldc + j] = nan_f;
  auto got = c;
  auto ref = c;
  gemm_cpu(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta,
           got.data(), ldc);
  gemm_ref(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta,
           ref.data(), ldc);
  // float accumulation over k terms of magnitude <= 1
  const double atol = 1e-6 * (k + 1) * std::fabs(alpha) + 1e-6;
  for (int r = 0; r < m; ++r)
    check_close(got.data() + size_t(r) * ldc, ref.data() + size_t(r) * ldc,
                size_t(n), atol, 1e-5);
  size_t pad_changed = 0;
  for (int r = 0; r < m; ++r)
    for (int j = n; j < ldc; ++j)
      pad_changed += got[size_t(r) * ldc + j] != c_pad;
  CHECK(pad_changed == 0);
}

constexpr trans both[] = {trans::no, trans::yes};

} // namespace

TEST_CASE("gemm_cpu: matches the double reference for all transposes",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const int dims[] = {1, 7, 64, 65, 129};
  for (auto ta : both)
    for (auto tb : both)
      for (int m : dims)
        for (int n : dims)
          for (int k : dims)
            check_gemm(rng, ta, tb, m, n, k, 0.75f, -1.25f);
}

TEST_CASE("gemm_cpu: matches the reference on the MLP layer shape 256x784x64",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (auto ta : both)
    for (auto tb : both)
      check_gemm(rng, ta, tb, 256, 784, 64, 1.0f, 0.0f);
}

TEST_CASE("gemm_cpu: alpha scales, beta accumulates and beta 0 ignores C",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (float alpha : {1.0f, -2.0f, 0.0f})
    for (float beta : {0.0f, 1.0f, 0.5f})
      check_gemm(rng, trans::no, trans::yes, 33, 17, 65, alpha, beta);
  // A known product: [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50].
  const float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8};
  float c[] = {1, 1, 1, 1};
  gemm_cpu(trans::no, trans::no, 2, 2, 2, 2.0f, a, 2, b, 2, 3.0f, c, 2);
  CHECK(c[0] == 41.0f);
  CHECK(c[1] == 47.0f);
  CHECK(c[2] == 89.0f);
  CHECK(c[3] == 103.0f);
}

TEST_CASE("gemm_cpu: one BLAS thread gives the same result as the reference",
          "[kernels]") {
  const int before = blas_threads();
  REQUIRE(before >= 1);
  set_blas_threads(1);
  CHECK(blas_threads() == 1);
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  check_gemm(rng, trans::yes, trans::no, 129, 65, 256, 1.0f, 0.0f);
  set_blas_threads(before);
  CHECK(blas_threads() == before);
}
