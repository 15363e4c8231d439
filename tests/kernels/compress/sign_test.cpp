#include "kernels/compress/sign_codec.hpp"

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

TEST_CASE("sign: decode is +-mean|g| of each bucket with the sign of each element",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  // The test bucket, a bucket that is not a whole number of bytes, and one
  // scale for the whole slice.
  for (uint32_t bucket : {test_bucket, 100u, 1u << 30}) {
    codec_params p;
    p.bucket = bucket;
    sign_codec c(p);
    for (uint32_t n : sizes) {
      INFO("bucket=" << bucket << " n=" << n);
      auto g = random_floats(rng, n, -2.0f, 1.0f);
      if (n > 1)
        g[1] = 0.0f; // zero decodes to +scale
      if (n > 2 * bucket) // buckets of different sizes get different scales
        for (uint32_t i = bucket; i < 2 * bucket; ++i)
          g[i] *= 100.0f;
      encoded e;
      auto out = round_trip(c, g, seed, e);
      REQUIRE(e.data.size() == (n + 7) / 8);
      REQUIRE(e.bucket == bucket);
      REQUIRE(e.scales.size() == (size_t(n) + bucket - 1) / bucket);
      size_t bad_scale = 0, bad = 0;
      for (size_t b = 0; b < e.scales.size(); ++b) {
        const size_t lo = b * bucket, hi = std::min<size_t>(n, lo + bucket);
        double mean_abs = 0;
        for (size_t i = lo; i < hi; ++i)
          mean_abs += std::fabs(double(g[i]));
        mean_abs /= double(hi - lo);
        bad_scale += !close(e.scales[b], mean_abs, 0, 1e-6);
        for (size_t i = lo; i < hi; ++i)
          bad += out[i] != (g[i] < 0 ? -e.scales[b] : e.scales[b]);
      }
      CHECK(bad_scale == 0);
      CHECK(bad == 0);
      if (n > 2 * bucket)
        CHECK(e.scales[1] > 50 * e.scales[0]);
    }
  }
}

TEST_CASE("sign: all zeros decode to zeros and inf is refused by validate",
          "[kernels]") {
  sign_codec c;
  std::vector<float> g(13, 0.0f);
  auto out = round_trip(c, g);
  CHECK(out == g);
  g[5] = -std::numeric_limits<float>::infinity();
  encoded e;
  c.encode(g.data(), 13, 1, e);
  auto err = c.validate(e, 13);
  REQUIRE(err);
  CHECK(err->find("scale 0") != std::string::npos);
}
