#include "kernels/compress/int8_codec.hpp"

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

codec_params with_bucket(uint32_t bucket) {
  codec_params p;
  p.bucket = bucket;
  return p;
}

// max|g| / 127 of each bucket, in double: the step every element of the
// bucket rounds by.
std::vector<double> ref_steps(const std::vector<float>& g, uint32_t bucket) {
  std::vector<double> step(g.size());
  for (size_t lo = 0; lo < g.size(); lo += bucket) {
    const size_t hi = std::min(g.size(), lo + bucket);
    double m = 0;
    for (size_t i = lo; i < hi; ++i)
      m = std::max(m, std::fabs(double(g[i])));
    for (size_t i = lo; i < hi; ++i)
      step[i] = m / 127.0;
  }
  return step;
}

} // namespace

TEST_CASE(
  "int8: decode is within one step of the input and the scale is absmax/127",
  "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (uint32_t bucket : {test_bucket, 100u, codec_params{}.bucket}) {
    int8_codec c(with_bucket(bucket));
    for (uint32_t n : sizes) {
      INFO("n=" << n << " bucket=" << bucket);
      auto g = random_floats(rng, n, -3.0f, 3.0f);
      encoded e;
      auto out = round_trip(c, g, seed, e);
      REQUIRE(e.bucket == bucket);
      REQUIRE(e.scales.size() == (n + bucket - 1) / bucket);
      REQUIRE(e.data.size() == n);
      const auto step = ref_steps(g, bucket);
      size_t bad_scale = 0, bad_err = 0;
      for (uint32_t i = 0; i < n; ++i) {
        const double scale = e.scales[i / bucket];
        bad_scale += !close(scale, step[i], 0, 1e-6);
        // One step at most, and never the wrong sign.
        bad_err += !(std::fabs(out[i] - double(g[i])) <= scale * (1 + 1e-5))
                   || out[i] * g[i] < 0;
      }
      CHECK(bad_scale == 0);
      CHECK(bad_err == 0);
    }
  }
}

TEST_CASE("int8: stochastic rounding is unbiased over step seeds",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  int8_codec c(with_bucket(test_bucket));
  for (uint32_t n : sizes) {
    const int seeds = n <= 257 ? 4000 : 64;
    INFO("n=" << n << " seeds=" << seeds);
    auto g = random_floats(rng, n);
    auto mean = mean_decode(c, g, seeds, seed * 1000003);
    check_unbiased(mean, g, ref_steps(g, test_bucket), seeds);
  }
}

TEST_CASE("int8: the same step seed gives the same codes", "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  int8_codec c(with_bucket(test_bucket));
  auto g = random_floats(rng, 4096);
  encoded a, b, other;
  c.encode(g.data(), 4096, 7, a);
  c.encode(g.data(), 4096, 7, b);
  c.encode(g.data(), 4096, 8, other);
  CHECK(a.data == b.data);
  CHECK(a.scales == b.scales);
  CHECK(a.data != other.data); // 4096 coin flips cannot all agree
}

TEST_CASE("int8: zeros decode to zeros and inf or NaN is refused by validate",
          "[kernels]") {
  int8_codec c(with_bucket(4));
  std::vector<float> g = {0, 0, 0, 0, 1, -2, 0.5f, 0};
  auto out = round_trip(c, g);
  CHECK(out[0] == 0.0f);
  CHECK(out[3] == 0.0f);
  CHECK(close(out[5], -2.0, 0, 1e-6)); // the absmax: 127 steps
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
