#pragma once

// Helpers shared by the codec tests: the sizes, an encode-validate-decode
// round trip, and the per-element unbiasedness check of stochastic codecs.

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "kernels/compress/codec.hpp"
#include "tests/kernels/test_util.hpp"

namespace herd::kernels::compress::test {

// 1, block-1, block, block+1 (block = the 256-element test bucket) and one
// large size.
inline constexpr uint32_t sizes[] = {1, 255, 256, 257, 100000};
inline constexpr uint32_t test_bucket = 256;

// Encodes g, requires validate() to accept the result, decodes into a buffer
// prefilled with NaN (so an element decode forgot to write shows up).
inline std::vector<float> round_trip(codec& c, const std::vector<float>& g,
                                     uint64_t step_seed, encoded& e) {
  const auto n = static_cast<uint32_t>(g.size());
  c.encode(g.data(), n, step_seed, e);
  auto err = c.validate(e, n);
  INFO("validate: " << err.value_or("ok"));
  REQUIRE(!err);
  std::vector<float> out(n, std::numeric_limits<float>::quiet_NaN());
  c.decode(e, out.data());
  return out;
}

inline std::vector<float> round_trip(codec& c, const std::vector<float>& g,
                                     uint64_t step_seed = 1) {
  encoded e;
  return round_trip(c, g, step_seed, e);
}

// Mean of decode(encode(g, seed)) over `seeds` step seeds, in double.
inline std::vector<double> mean_decode(codec& c, const std::vector<float>& g,
                                       int seeds, uint64_t first_seed) {
  std::vector<double> mean(g.size(), 0.0);
  encoded e;
  for (int s = 0; s < seeds; ++s) {
    auto out = round_trip(c, g, first_seed + uint64_t(s), e);
    for (size_t i = 0; i < g.size(); ++i)
      mean[i] += out[i];
  }
  for (auto& m : mean)
    m /= seeds;
  return mean;
}

// Hoeffding: a mean of `seeds` draws, each within an interval of width
// `range`, is farther than range*t from its expectation with probability
// 2 exp(-2 seeds t^2). t is chosen so that over n elements a correct codec
// fails with probability below 1e-6.
inline double hoeffding_t(size_t n, int seeds) {
  return std::sqrt(std::log(2.0 * double(n) / 1e-6) / (2.0 * seeds));
}

// Checks that the per-element means are unbiased: |mean_i - g_i| <= t*unit_i
// for each element (unit_i: the width of the two values element i rounds
// between), and that the average of |mean_i - g_i|/unit_i is at most
// 1/sqrt(seeds) when there are enough elements to average (a correct codec
// averages at most 0.4/sqrt(seeds); a deterministic rounding about 0.25).
inline void check_unbiased(const std::vector<double>& mean,
                           const std::vector<float>& g,
                           const std::vector<double>& unit, int seeds) {
  const double t = hoeffding_t(g.size(), seeds);
  size_t bad = 0, first = 0;
  double sum_rel = 0.0;
  size_t counted = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    const double err = std::fabs(mean[i] - double(g[i]));
    if (!(err <= t * unit[i] + 1e-6 * std::fabs(g[i]))) {
      if (bad++ == 0)
        first = i;
    }
    if (unit[i] > 0) {
      sum_rel += err / unit[i];
      ++counted;
    }
  }
  INFO("first biased element " << first << ": mean " << mean[first]
                               << ", input " << g[first] << ", unit "
                               << unit[first] << ", t " << t);
  CHECK(bad == 0);
  if (counted >= 64) { // an average of a few elements is too noisy
    INFO("average |bias| in units: " << sum_rel / counted);
    CHECK(sum_rel / counted <= 1.0 / std::sqrt(double(seeds)));
  }
}

} // namespace herd::kernels::compress::test
