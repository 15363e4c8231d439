#include "kernels/compress/randk_codec.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/kernels/compress/compress_test_util.hpp"

using namespace herd::kernels::compress;
using namespace herd::kernels::compress::test;
using herd::kernels::test::random_floats;
using herd::kernels::test::test_seed;

namespace {

codec_params randk_params(double density) {
  codec_params p;
  p.density = density;
  return p;
}

} // namespace

TEST_CASE("randk: positions are k distinct ascending ones fixed per seed",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  for (uint32_t n : sizes) {
    for (double density : {0.01, 0.25, 0.9, 1.0}) {
      const uint32_t k = sparse_count(density, n);
      INFO("n=" << n << " k=" << k);
      std::vector<uint32_t> a, b, other;
      randk_indices(seed, n, k, a);
      randk_indices(seed, n, k, b);
      randk_indices(seed + 1, n, k, other);
      REQUIRE(a.size() == k);
      CHECK(a == b);
      bool ordered = true;
      for (size_t j = 0; j < a.size(); ++j)
        ordered &= a[j] < n && (j == 0 || a[j] > a[j - 1]);
      CHECK(ordered);
      if (k >= 8 && n - k >= 8) // both subsets have many possible values
        CHECK(a != other);
    }
  }
}

TEST_CASE(
  "randk: only the seed travels and decode is g*n/k there and 0 elsewhere",
  "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (uint32_t n : sizes) {
    INFO("n=" << n);
    randk_codec c(randk_params(0.1));
    const uint32_t k = sparse_count(0.1, n);
    auto g = random_floats(rng, n);
    encoded e;
    auto out = round_trip(c, g, seed, e);
    CHECK(e.indices.empty());
    CHECK(e.seed == seed);
    CHECK(e.data.size() == 4 * size_t(k));
    std::vector<uint32_t> idx;
    randk_indices(seed, n, k, idx);
    const float scale = float(double(n) / k);
    std::vector<float> ref(n, 0.0f);
    for (uint32_t i : idx)
      ref[i] = g[i] * scale;
    CHECK(out == ref);
  }
}

TEST_CASE("randk: every position is equally likely and decode is unbiased",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (uint32_t n : {1u, 255u, 256u, 257u}) {
    const int seeds = 4000;
    INFO("n=" << n);
    randk_codec c(randk_params(0.25));
    const uint32_t k = sparse_count(0.25, n);
    auto g = random_floats(rng, n);
    auto mean = mean_decode(c, g, seeds, seed * 31);
    // Each decoded element is 0 or g*n/k: the interval width is |g|*n/k.
    std::vector<double> unit(n);
    for (uint32_t i = 0; i < n; ++i)
      unit[i] = std::fabs(g[i]) * n / k;
    check_unbiased(mean, g, unit, seeds);
  }
  // Large slice: the positions fall evenly into 10 ranges.
  const uint32_t n = 100000, k = sparse_count(0.01, n);
  const int seeds = 200;
  std::vector<double> hits(10, 0);
  std::vector<uint32_t> idx;
  for (int s = 0; s < seeds; ++s) {
    randk_indices(seed + uint64_t(s), n, k, idx);
    for (uint32_t i : idx)
      hits[i / (n / 10)] += 1;
  }
  const double expect = double(seeds) * k / 10;
  for (double h : hits) {
    INFO("range hits " << h << ", expected " << expect);
    // Binomial sd ~ sqrt(20000) = 141; 6 sd.
    CHECK(std::fabs(h - expect) <= 6 * std::sqrt(expect));
  }
}
