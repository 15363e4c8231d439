#include "kernels/compress/qsgd_codec.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/kernels/compress/compress_test_util.hpp"

using namespace herd::kernels::compress;
using namespace herd::kernels::compress::test;
using herd::kernels::test::close;
using herd::kernels::test::random_floats;
using herd::kernels::test::test_seed;

namespace {

codec_params qsgd_params(uint32_t levels, uint32_t bucket) {
  codec_params p;
  p.levels = levels;
  p.bucket = bucket;
  return p;
}

// L2 norm of each element's bucket, in double.
std::vector<double> ref_norms(const std::vector<float>& g, uint32_t bucket) {
  std::vector<double> norm(g.size());
  for (size_t lo = 0; lo < g.size(); lo += bucket) {
    const size_t hi = std::min(g.size(), lo + bucket);
    double sq = 0;
    for (size_t i = lo; i < hi; ++i)
      sq += double(g[i]) * g[i];
    for (size_t i = lo; i < hi; ++i)
      norm[i] = std::sqrt(sq);
  }
  return norm;
}

} // namespace

TEST_CASE("qsgd: code width is one sign bit plus the bits of s",
          "[kernels]") {
  CHECK(qsgd_codec::code_bits(1) == 2);
  CHECK(qsgd_codec::code_bits(2) == 3);
  CHECK(qsgd_codec::code_bits(3) == 3);
  CHECK(qsgd_codec::code_bits(4) == 4);
  CHECK(qsgd_codec::code_bits(7) == 4);
  CHECK(qsgd_codec::code_bits(127) == 8);
  CHECK(qsgd_codec::code_bits(128) == 9);
  CHECK(qsgd_codec::code_bits(qsgd_max_levels) == 16);
}

TEST_CASE("qsgd: decode is within norm/s of the input and scales are the norms",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (uint32_t levels : {1u, 4u, 15u, 127u}) {
    for (uint32_t bucket : {test_bucket, 100u}) {
      qsgd_codec c(qsgd_params(levels, bucket));
      for (uint32_t n : sizes) {
        INFO("n=" << n << " levels=" << levels << " bucket=" << bucket);
        auto g = random_floats(rng, n);
        encoded e;
        auto out = round_trip(c, g, seed, e);
        REQUIRE(e.levels == levels);
        REQUIRE(e.bucket == bucket);
        REQUIRE(e.scales.size() == (n + bucket - 1) / bucket);
        const size_t w = qsgd_codec::code_bits(levels);
        REQUIRE(e.data.size() == (size_t(n) * w + 7) / 8);
        const auto norm = ref_norms(g, bucket);
        size_t bad_norm = 0, bad_err = 0;
        for (uint32_t i = 0; i < n; ++i) {
          bad_norm += !close(e.scales[i / bucket], norm[i], 0, 1e-6);
          bad_err += !(std::fabs(out[i] - double(g[i]))
                       <= norm[i] / levels * (1 + 1e-5))
                     || out[i] * g[i] < 0;
        }
        CHECK(bad_norm == 0);
        CHECK(bad_err == 0);
      }
    }
  }
}

TEST_CASE("qsgd: stochastic levels are unbiased over step seeds",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (uint32_t levels : {1u, 4u}) {
    qsgd_codec c(qsgd_params(levels, test_bucket));
    for (uint32_t n : sizes) {
      const int seeds = n <= 257 ? 4000 : 64;
      INFO("n=" << n << " levels=" << levels << " seeds=" << seeds);
      auto g = random_floats(rng, n);
      auto unit = ref_norms(g, test_bucket);
      for (auto& u : unit)
        u /= levels;
      auto mean = mean_decode(c, g, seeds, seed * 7919);
      check_unbiased(mean, g, unit, seeds);
    }
  }
}

TEST_CASE("qsgd: error variance is within the QSGD bound", "[kernels]") {
  // E||Q(g) - g||^2 <= min(d/s^2, sqrt(d)/s) ||g||^2 per bucket of d.
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const uint32_t n = 4096, bucket = 512;
  auto g = random_floats(rng, n);
  for (uint32_t levels : {1u, 2u, 4u, 16u}) {
    INFO("levels=" << levels);
    qsgd_codec c(qsgd_params(levels, bucket));
    const int seeds = 200;
    double mse = 0, bound = 0;
    encoded e;
    for (int s = 0; s < seeds; ++s) {
      auto out = round_trip(c, g, uint64_t(s), e);
      for (uint32_t i = 0; i < n; ++i)
        mse += (double(out[i]) - g[i]) * (double(out[i]) - g[i]);
    }
    mse /= seeds;
    const double d = bucket, sl = levels;
    for (uint32_t i = 0; i < n; ++i)
      bound += std::min(d / (sl * sl), std::sqrt(d) / sl) * double(g[i]) * g[i];
    INFO("mse " << mse << " bound " << bound);
    CHECK(mse > 0);
    CHECK(mse <= bound);
  }
}

TEST_CASE("qsgd: the same step seed gives the same bytes", "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  qsgd_codec c(qsgd_params(4, test_bucket));
  auto g = random_floats(rng, 4096);
  encoded a, b, other;
  c.encode(g.data(), 4096, 11, a);
  c.encode(g.data(), 4096, 11, b);
  c.encode(g.data(), 4096, 12, other);
  CHECK(a.data == b.data);
  CHECK(a.data != other.data);
}

TEST_CASE("qsgd: zeros decode to zeros and inf or NaN is refused by validate",
          "[kernels]") {
  qsgd_codec c(qsgd_params(4, 4));
  std::vector<float> g = {0, 0, 0, 0, 3, -4, 0, 0};
  auto out = round_trip(c, g);
  CHECK(out[0] == 0.0f);
  CHECK(out[3] == 0.0f);
  // norm 5, s 4: 3 -> level 2.4 (2 or 3 units of 1.25), -4 -> 3.2.
  CHECK((out[4] == 2.5f || out[4] == 3.75f));
  CHECK((out[5] == -3.75f || out[5] == -5.0f));
  for (float bad : {std::numeric_limits<float>::infinity(),
                    std::numeric_limits<float>::quiet_NaN()}) {
    g[6] = bad;
    encoded e;
    c.encode(g.data(), uint32_t(g.size()), 1, e);
    auto err = c.validate(e, uint32_t(g.size()));
    REQUIRE(err);
    CHECK(err->find("scale 1") != std::string::npos);
  }
}
