#include "kernels/cuda/elementwise_cuda.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include <catch2/catch.hpp>

#include "kernels/compress/half.hpp"
#include "kernels/cpu/round_half.hpp"
#include "kernels/cuda/cuda_raii.hpp"
#include "kernels/loss_scaler.hpp"
#include "tests/cuda/device_util.hpp"
#include "tests/kernels/test_util.hpp"

using namespace herd::kernels;
using namespace herd::kernels::test;

namespace {

constexpr size_t sizes[] = {1, 255, 256, 257, 3'000'017};

// Random values over many binades (subnormal to fp16 overflow) so the casts' edge cases run.
std::vector<float> wide_floats(std::mt19937_64& rng, size_t n) {
  auto x = random_floats(rng, n);
  std::uniform_int_distribution<int> e(-30, 18);
  for (auto& v : x)
    v = std::ldexp(v, e(rng));
  return x;
}

} // namespace

TEST_CASE("all_finite_cuda and unscale_check_cuda: find one inf or NaN anywhere", "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  cuda_stream s;
  device_buffer<int> bad(1);
  for (size_t n : sizes)
    for (float poison : {0.0f, std::numeric_limits<float>::infinity(),
                         -std::numeric_limits<float>::infinity(),
                         std::numeric_limits<float>::quiet_NaN()}) {
      auto x = random_floats(rng, n);
      const size_t at = std::uniform_int_distribution<size_t>(0, n - 1)(rng);
      if (poison != 0.0f || std::isnan(poison))
        x[at] = poison;
      INFO("n=" << n << " poison=" << poison << " at " << at);
      auto dx = to_device(x);
      all_finite_cuda(dx.get(), n, bad.get(), s.get());
      CHECK((to_host(bad)[0] == 0) == all_finite_cpu(x.data(), n));
      unscale_check_cuda(dx.get(), n, 0.25f, bad.get(), s.get());
      CHECK((to_host(bad)[0] == 0) == all_finite_cpu(x.data(), n));
      if (all_finite_cpu(x.data(), n)) {
        for (auto& v : x)
          v *= 0.25f;
        check_close(to_host(dx), x, 0.0, 0.0);
      }
    }
}

TEST_CASE("round_to_half_cuda and the half casts: bit-identical to the CPU", "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  cuda_stream s;
  for (auto f : {half_format::bf16, half_format::fp16})
    for (size_t n : sizes) {
      INFO("n=" << n << " bf16=" << (f == half_format::bf16));
      auto x = wide_floats(rng, n);
      x[0] = std::numeric_limits<float>::quiet_NaN();
      auto dx = to_device(x);
      device_buffer<float> rounded(n), back(n);
      device_buffer<uint16_t> h(n);
      round_to_half_cuda(dx.get(), rounded.get(), n, f, s.get());
      to_half_cuda(dx.get(), h.get(), n, f, s.get());
      from_half_cuda(h.get(), back.get(), n, f, s.get());
      std::vector<float> ref(n);
      round_to_half_cpu(x.data(), ref.data(), n, f);
      std::vector<uint16_t> ref_h(n);
      for (size_t i = 0; i < n; ++i)
        ref_h[i] = f == half_format::bf16 ? compress::float_to_bf16(x[i])
                                          : compress::float_to_fp16(x[i]);
      auto got_r = to_host(rounded);
      auto got_b = to_host(back);
      CHECK(to_host(h) == ref_h);
      size_t bad = 0;
      for (size_t i = 0; i < n; ++i)
        bad += compress::float_bits(got_r[i]) != compress::float_bits(ref[i])
               || compress::float_bits(got_b[i]) != compress::float_bits(ref[i]);
      CHECK(bad == 0);
    }
}
