#include "kernels/compress/momentum_correction.hpp"

#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "kernels/compress/dense_codec.hpp"
#include "kernels/compress/randk_codec.hpp"
#include "kernels/compress/topk_codec.hpp"
#include "tests/kernels/compress/compress_test_util.hpp"

using namespace herd::kernels::compress;
using namespace herd::kernels::compress::test;
using herd::kernels::test::check_close;
using herd::kernels::test::close;
using herd::kernels::test::random_floats;
using herd::kernels::test::test_seed;

TEST_CASE("momentum_correction: accumulates momentum and clears what was sent",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (uint32_t n : sizes) {
    INFO("n=" << n);
    const float m = 0.9f;
    momentum_correction mc(n, m);
    codec_params p;
    p.density = 0.05;
    topk_codec topk(p);
    // Reference in double: u = m u + g; v += u; zero both where sent.
    std::vector<double> u(n, 0), v(n, 0);
    encoded e;
    for (int t = 0; t < 5; ++t) {
      auto g = random_floats(rng, n);
      const float* acc = mc.apply(g.data());
      for (uint32_t i = 0; i < n; ++i) {
        u[i] = m * u[i] + g[i];
        v[i] += u[i];
      }
      check_close(acc, v.data(), n, 1e-5, 1e-5);
      topk.encode(acc, n, uint64_t(t), e);
      REQUIRE(!topk.validate(e, n));
      mc.clear_sent(e);
      for (uint32_t i : e.indices)
        u[i] = v[i] = 0;
      check_close(mc.velocity(), u.data(), n, 1e-5, 1e-5);
      check_close(mc.accumulated(), v.data(), n, 1e-5, 1e-5);
    }
  }
}

TEST_CASE("momentum_correction: Nesterov accumulates g + m u and clears what was sent",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (uint32_t n : sizes) {
    INFO("n=" << n);
    const float m = 0.9f;
    momentum_correction mc(n, m, true);
    codec_params p;
    p.density = 0.05;
    topk_codec topk(p);
    // Reference in double: u = m u + g; v += g + m u; zero both where sent.
    std::vector<double> u(n, 0), v(n, 0);
    encoded e;
    for (int t = 0; t < 5; ++t) {
      auto g = random_floats(rng, n);
      const float* acc = mc.apply(g.data());
      for (uint32_t i = 0; i < n; ++i) {
        u[i] = m * u[i] + g[i];
        v[i] += g[i] + m * u[i];
      }
      check_close(acc, v.data(), n, 1e-5, 1e-5);
      topk.encode(acc, n, uint64_t(t), e);
      REQUIRE(!topk.validate(e, n));
      mc.clear_sent(e);
      for (uint32_t i : e.indices)
        u[i] = v[i] = 0;
      check_close(mc.velocity(), u.data(), n, 1e-5, 1e-5);
      check_close(mc.accumulated(), v.data(), n, 1e-5, 1e-5);
    }
  }
}

TEST_CASE(
  "momentum_correction: randk positions are derived and dense clears all",
  "[kernels]") {
  const uint32_t n = 1000;
  std::vector<float> g(n, 1.0f);
  codec_params p;
  p.density = 0.1;
  randk_codec randk(p);
  momentum_correction mc(n, 0.5f);
  mc.apply(g.data());
  encoded e;
  randk.encode(mc.accumulated(), n, 42, e);
  mc.clear_sent(e);
  std::vector<uint32_t> sent;
  randk_indices(42, n, 100, sent);
  size_t zeros = 0;
  for (uint32_t i = 0; i < n; ++i)
    zeros += mc.accumulated()[i] == 0.0f;
  CHECK(zeros == 100);
  for (uint32_t i : sent)
    CHECK(mc.accumulated()[i] == 0.0f);
  dense_codec dense;
  dense.encode(mc.accumulated(), n, 0, e);
  mc.clear_sent(e);
  for (uint32_t i = 0; i < n; i += 97)
    CHECK(mc.accumulated()[i] == 0.0f);
}

TEST_CASE("warmup_density: exponential from 25% to the final density",
          "[kernels]") {
  // DGC: 0.1% after four warm-up epochs, one epoch = 1000 steps; at the
  // epoch starts within 2% of DGC's 25%, 6.25%, 1.5625%, 0.390625%, and the
  // same factor from one epoch to the next.
  const double dgc[] = {0.25, 0.0625, 0.015625, 0.00390625};
  for (int epoch = 0; epoch < 4; ++epoch) {
    const double d = warmup_density(0.001, 1000 * uint64_t(epoch), 4000);
    INFO("epoch " << epoch << ": " << d);
    CHECK(close(d, dgc[epoch], 0, 0.02));
  }
  const double r1 = warmup_density(0.001, 1000, 4000)
                    / warmup_density(0.001, 0, 4000);
  const double r3 = warmup_density(0.001, 3000, 4000)
                    / warmup_density(0.001, 2000, 4000);
  CHECK(close(r1, r3, 0, 1e-9));
  CHECK(warmup_density(0.001, 0, 4000) == 0.25);
  CHECK(warmup_density(0.001, 4000, 4000) == 0.001);
  CHECK(warmup_density(0.001, 99999, 4000) == 0.001);
  double prev = 1;
  bool decreasing = true;
  for (uint64_t s = 0; s <= 4000; s += 50) {
    const double d = warmup_density(0.001, s, 4000);
    decreasing &= d < prev && d >= 0.001;
    prev = d;
  }
  CHECK(decreasing);
  CHECK(warmup_density(0.01, 5, 0) == 0.01); // no warm-up
  CHECK(warmup_density(0.5, 0, 100) == 0.5); // already denser than 25%
}
