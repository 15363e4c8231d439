#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/loss_scaler.hpp"

using herd::kernels::loss_scaler;
using herd::kernels::loss_scaler_params;

TEST_CASE("loss_scaler: starts at 2^16, halves and skips on overflow, doubles after 2000 "
          "clean steps",
          "[kernels]") {
  loss_scaler s;
  CHECK(s.scale() == 65536.0f);
  std::vector<float> g(100, 65536.0f * 0.5f);
  REQUIRE(s.unscale_and_check(g.data(), g.size()));
  CHECK(g[0] == 0.5f); // unscaled in place
  g[37] = std::numeric_limits<float>::infinity();
  CHECK_FALSE(s.unscale_and_check(g.data(), g.size()));
  CHECK(s.scale() == 32768.0f);
  CHECK(s.skipped() == 1);
  g[37] = std::numeric_limits<float>::quiet_NaN();
  CHECK_FALSE(s.unscale_and_check(g.data(), g.size()));
  CHECK(s.scale() == 16384.0f);
  std::vector<float> clean(10, 1.0f);
  for (int i = 0; i < 1999; ++i)
    REQUIRE(s.unscale_and_check(clean.data(), clean.size()));
  CHECK(s.scale() == 16384.0f);
  REQUIRE(s.unscale_and_check(clean.data(), clean.size()));
  CHECK(s.scale() == 32768.0f); // the 2000th clean step in a row
  CHECK(s.clean_in_a_row() == 0);
}

TEST_CASE("loss_scaler: the scale stays within its bounds", "[kernels]") {
  loss_scaler_params p;
  p.initial = 2.0f;
  p.growth_interval = 1;
  p.max_scale = 8.0f;
  loss_scaler s{p};
  std::vector<float> inf(3, std::numeric_limits<float>::infinity());
  for (int i = 0; i < 5; ++i)
    s.unscale_and_check(inf.data(), inf.size());
  CHECK(s.scale() == 1.0f);
  std::vector<float> ok(3, 1.0f);
  for (int i = 0; i < 10; ++i)
    s.unscale_and_check(ok.data(), ok.size());
  CHECK(s.scale() == 8.0f);
}

TEST_CASE("all_finite_cpu: finds one inf or NaN anywhere", "[kernels]") {
  for (size_t n : {1u, 63u, 64u, 65u, 100000u}) {
    std::vector<float> x(n, -3.5f);
    CHECK(herd::kernels::all_finite_cpu(x.data(), n));
    x[n - 1] = -std::numeric_limits<float>::infinity();
    CHECK_FALSE(herd::kernels::all_finite_cpu(x.data(), n));
    x[n - 1] = std::numeric_limits<float>::quiet_NaN();
    CHECK_FALSE(herd::kernels::all_finite_cpu(x.data(), n));
  }
}
