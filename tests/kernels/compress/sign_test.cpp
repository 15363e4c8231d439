#include "kernels/compress/sign_codec.hpp"

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

TEST_CASE("sign: decode is +-mean|g| with the sign of each element",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  sign_codec c;
  for (uint32_t n : sizes) {
    INFO("n=" << n);
    auto g = random_floats(rng, n, -2.0f, 1.0f);
    if (n > 1)
      g[1] = 0.0f; // zero decodes to +scale
    encoded e;
    auto out = round_trip(c, g, seed, e);
    REQUIRE(e.data.size() == (n + 7) / 8);
    REQUIRE(e.scales.size() == 1);
    double mean_abs = 0;
    for (float x : g)
      mean_abs += std::fabs(double(x));
    mean_abs /= n;
    CHECK(close(e.scales[0], mean_abs, 0, 1e-6));
    size_t bad = 0;
    for (uint32_t i = 0; i < n; ++i)
      bad += out[i] != (g[i] < 0 ? -e.scales[0] : e.scales[0]);
    CHECK(bad == 0);
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
