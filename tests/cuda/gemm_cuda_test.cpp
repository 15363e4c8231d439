#include "kernels/cuda/gemm_cuda.hpp"

#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "kernels/compress/half.hpp"
#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/round_half.hpp"
#include "kernels/cuda/cuda_raii.hpp"
#include "tests/cuda/device_util.hpp"
#include "tests/kernels/test_util.hpp"

using namespace herd::kernels;
using namespace herd::kernels::test;

namespace {

struct shape {
  int m, n, k;
};

// Sizes 1, 255, 256, 257 in each dimension (not every combination) and one large GEMM.
constexpr shape shapes[] = {{1, 1, 1},       {255, 256, 257}, {256, 257, 255},
                            {257, 255, 256}, {1, 257, 256},   {256, 1, 255},
                            {64, 10, 784},   {1000, 1200, 900}};

// Operands as the GEMM type wants them: floats, or 16-bit patterns of floats that were
// rounded to that format first (the reference multiplies the rounded values).
device_buffer<uint16_t> as_half(std::vector<float>& x, half_format f) {
  round_to_half_cpu(x.data(), x.size(), f);
  std::vector<uint16_t> h(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    h[i] = f == half_format::bf16 ? herd::kernels::compress::float_to_bf16(x[i])
                                  : herd::kernels::compress::float_to_fp16(x[i]);
  return to_device(h);
}

void check(gemm_type type, trans ta, trans tb, shape sh, float alpha, float beta,
           std::mt19937_64& rng, const cublas_handle& h, const cuda_stream& s) {
  const auto [m, n, k] = sh;
  INFO(gemm_type_name(type) << " ta=" << (ta == trans::yes) << " tb=" << (tb == trans::yes)
                            << " m=" << m << " n=" << n << " k=" << k << " beta=" << beta);
  const int lda = (ta == trans::no ? k : m) + 3;
  const int ldb = (tb == trans::no ? n : k) + 1;
  const int ldc = n + 2;
  auto a = random_floats(rng, size_t(ta == trans::no ? m : k) * lda);
  auto b = random_floats(rng, size_t(tb == trans::no ? k : n) * ldb);
  auto c = random_floats(rng, size_t(m) * ldc);
  device_buffer<float> da32, db32;
  device_buffer<uint16_t> da16, db16;
  const void* pa = nullptr;
  const void* pb = nullptr;
  if (type == gemm_type::bf16 || type == gemm_type::fp16) {
    auto f = type == gemm_type::bf16 ? half_format::bf16 : half_format::fp16;
    da16 = as_half(a, f);
    db16 = as_half(b, f);
    pa = da16.get();
    pb = db16.get();
  } else {
    da32 = to_device(a);
    db32 = to_device(b);
    pa = da32.get();
    pb = db32.get();
  }
  auto dc = to_device(c);
  gemm_cuda(h, type, ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, dc.get(), ldc, s.get());
  auto got = to_host(dc);
  auto ref = c;
  gemm_ref(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, ref.data(), ldc);
  // fp32: 1e-4 relative (plus a sqrt(k) absolute term for sums near zero). bf16/fp16 operands
  // were rounded on the host, so products are exact and only the fp32 sums differ; TF32
  // rounds the inputs to 10 mantissa bits inside the GEMM.
  const double rtol = type == gemm_type::tf32 ? 1e-2 : (type == gemm_type::fp32 ? 1e-4 : 1e-3);
  const double atol = rtol * std::sqrt(double(k)) * 0.5;
  for (int r = 0; r < m; ++r)
    check_close(got.data() + size_t(r) * ldc, ref.data() + size_t(r) * ldc, size_t(n), atol,
                rtol);
  // The padding of C is never written.
  for (int r = 0; r < m; ++r)
    for (int j = n; j < ldc; ++j)
      REQUIRE(got[size_t(r) * ldc + j] == c[size_t(r) * ldc + j]);
}

} // namespace

TEST_CASE("gemm_cuda: every operand type and transpose matches the reference", "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  cuda_stream s;
  cublas_handle h;
  for (auto type : {gemm_type::fp32, gemm_type::tf32, gemm_type::bf16, gemm_type::fp16})
    for (auto ta : {trans::no, trans::yes})
      for (auto tb : {trans::no, trans::yes})
        for (const auto& sh : shapes)
          check(type, ta, tb, sh, 1.0f, 0.0f, rng, h, s);
}

TEST_CASE("gemm_cuda: alpha and beta scale as in BLAS", "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  cuda_stream s;
  cublas_handle h;
  check(gemm_type::fp32, trans::no, trans::yes, {255, 257, 256}, 0.5f, 1.0f, rng, h, s);
  check(gemm_type::fp32, trans::yes, trans::no, {256, 255, 1}, -2.0f, 0.25f, rng, h, s);
}
