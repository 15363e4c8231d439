// fp16 / bf16 conversions and the dense, fp16 and bf16 codecs, against
// references written from the formats' definitions (nearest representable
// value by search, ties to even), not from the bit tricks in half.hpp.

#include "kernels/compress/half.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <catch2/catch.hpp>

#include "kernels/compress/bf16_codec.hpp"
#include "kernels/compress/dense_codec.hpp"
#include "kernels/compress/fp16_codec.hpp"
#include "tests/kernels/compress/compress_test_util.hpp"

using namespace herd::kernels::compress;
using namespace herd::kernels::compress::test;
using herd::kernels::test::test_seed;

namespace {

constexpr float inf = std::numeric_limits<float>::infinity();
constexpr float qnan = std::numeric_limits<float>::quiet_NaN();

// The value of a finite non-negative half from its definition.
double fp16_value(uint16_t h) {
  const int exp = (h >> 10) & 0x1f;
  const int mant = h & 0x3ff;
  if (exp == 0)
    return std::ldexp(double(mant), -24);
  return std::ldexp(1.0 + mant / 1024.0, exp - 15);
}

// Nearest half by binary search over the 0x7c00 non-negative finite halves
// (their values increase with the bit pattern); ties to the even pattern;
// at or above 65520 (the midpoint to the next power, 65536) inf.
uint16_t fp16_ref(float f) {
  static const std::vector<double> table = [] {
    std::vector<double> t(0x7c00);
    for (uint32_t h = 0; h < 0x7c00; ++h)
      t[h] = fp16_value(uint16_t(h));
    return t;
  }();
  const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  const double a = std::fabs(double(f));
  if (std::isnan(f))
    return 0x7e00;
  if (a >= 65520.0)
    return sign | 0x7c00;
  if (a >= table.back()) // (65504, 65520): below the midpoint
    return sign | 0x7bff;
  auto it = std::lower_bound(table.begin(), table.end(), a);
  auto hi = uint16_t(it - table.begin()); // first >= a
  if (hi == 0 || table[hi] == a)
    return sign | hi;
  const auto lo = uint16_t(hi - 1);
  const double dlo = a - table[lo], dhi = table[hi] - a;
  if (dlo < dhi || (dlo == dhi && (lo & 1) == 0))
    return sign | lo;
  return sign | hi;
}

// Nearest bf16: the two candidates around f, by distance in double, ties to
// the even pattern. Past FLT_MAX the next pattern is inf, at distance as if
// it were 2^128 (the IEEE rule for overflow).
uint16_t bf16_ref(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = x & 0x80000000u;
  const uint32_t ax = x & 0x7fffffffu;
  const uint32_t lo = ax & 0xffff0000u, hi = lo + 0x10000u;
  auto value = [](uint32_t bits) {
    if (bits >= 0x7f800000u)
      return std::ldexp(1.0, 128);
    float v;
    std::memcpy(&v, &bits, 4);
    return double(v);
  };
  const double a = value(ax);
  const double dlo = a - value(lo), dhi = value(hi) - a;
  const uint32_t pick
    = (dlo < dhi || (dlo == dhi && ((lo >> 16) & 1) == 0)) ? lo : hi;
  return uint16_t((sign | pick) >> 16);
}

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Floats spread over every exponent a half can reach (and past it), both
// signs, plus every midpoint between adjacent halves and its neighbours.
std::vector<float> fp16_inputs(std::mt19937_64& rng) {
  std::vector<float> v;
  std::uniform_int_distribution<int> exp(-30, 17);
  std::uniform_real_distribution<float> mant(1.0f, 2.0f);
  for (int i = 0; i < 200000; ++i) {
    float x = std::ldexp(mant(rng), exp(rng));
    v.push_back(i % 2 ? -x : x);
  }
  for (uint32_t h = 0; h + 1 < 0x7c00; ++h) {
    const float mid = float((fp16_value(uint16_t(h))
                             + fp16_value(uint16_t(h + 1))) / 2);
    v.push_back(mid);
    v.push_back(std::nextafter(mid, 0.0f));
    v.push_back(std::nextafter(mid, inf));
  }
  return v;
}

} // namespace

TEST_CASE("fp16: half to float is exact for all 65536 patterns", "[kernels]") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float got = fp16_to_float(uint16_t(h));
    const bool neg = h & 0x8000;
    const uint16_t mag = uint16_t(h & 0x7fff);
    INFO("half 0x" << std::hex << h);
    if (mag > 0x7c00) {
      REQUIRE(std::isnan(got));
    } else if (mag == 0x7c00) {
      REQUIRE(got == (neg ? -inf : inf));
    } else {
      REQUIRE(double(got) == (neg ? -1 : 1) * fp16_value(mag));
      REQUIRE(std::signbit(got) == neg);
      // Every finite half survives the trip back.
      REQUIRE(float_to_fp16(got) == h);
    }
  }
}

TEST_CASE("fp16: float to half rounds to nearest even like the reference",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const auto v = fp16_inputs(rng);
  size_t bad = 0;
  float first = 0;
  for (float x : v) {
    if (float_to_fp16(x) != fp16_ref(x) && bad++ == 0)
      first = x;
  }
  INFO(bad << " of " << v.size() << " differ, first " << first << " -> 0x"
            << std::hex << float_to_fp16(first) << ", reference 0x"
            << fp16_ref(first));
  CHECK(bad == 0);
#if defined(__FLT16_MAX__)
  // The compiler's own conversion (libgcc, round to nearest even) agrees.
  size_t bad_cc = 0;
  for (float x : v) {
    const auto h = static_cast<_Float16>(x);
    uint16_t bits;
    std::memcpy(&bits, &h, 2);
    bad_cc += bits != float_to_fp16(x);
  }
  CHECK(bad_cc == 0);
#endif
}

TEST_CASE(
  "fp16: special values and subnormals round right and overflow goes to inf",
  "[kernels]") {
  CHECK(float_to_fp16(inf) == 0x7c00);
  CHECK(float_to_fp16(-inf) == 0xfc00);
  CHECK(std::isnan(fp16_to_float(float_to_fp16(qnan))));
  CHECK(std::isnan(fp16_to_float(float_to_fp16(-qnan))));
  // A signalling-NaN payload that would vanish in the top 10 bits stays NaN.
  CHECK(std::isnan(fp16_to_float(float_to_fp16(from_bits(0x7f800001u)))));
  CHECK(float_to_fp16(0.0f) == 0x0000);
  CHECK(float_to_fp16(-0.0f) == 0x8000);
  CHECK(float_to_fp16(65504.0f) == 0x7bff);             // largest half
  CHECK(float_to_fp16(65519.996f) == 0x7bff);           // below the midpoint
  CHECK(float_to_fp16(65520.0f) == 0x7c00);             // tie: rounds up, inf
  CHECK(float_to_fp16(-1e10f) == 0xfc00);
  CHECK(float_to_fp16(std::ldexp(1.0f, -14)) == 0x0400); // smallest normal
  CHECK(float_to_fp16(std::ldexp(1.0f, -24)) == 0x0001); // smallest subnormal
  CHECK(float_to_fp16(std::ldexp(1.0f, -25)) == 0x0000); // tie to even: 0
  CHECK(float_to_fp16(std::ldexp(3.0f, -26)) == 0x0001); // 0.75 ulp: up
  CHECK(float_to_fp16(std::ldexp(3.0f, -25)) == 0x0002); // 1.5: tie to 2
  CHECK(float_to_fp16(-std::ldexp(1.0f, -26)) == 0x8000); // signed zero
  CHECK(float_to_fp16(std::numeric_limits<float>::denorm_min()) == 0);
  CHECK(float_to_fp16(1.0f + std::ldexp(1.0f, -11)) == 0x3c00); // tie, even
  CHECK(float_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);
}

TEST_CASE("bf16: float to bf16 rounds to nearest even like the reference",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  size_t bad = 0;
  uint32_t first = 0;
  auto check_bits = [&](uint32_t bits) {
    const float x = from_bits(bits);
    if (std::isnan(x)) {
      if (!std::isnan(bf16_to_float(float_to_bf16(x))) && bad++ == 0)
        first = bits;
      return;
    }
    if (float_to_bf16(x) != bf16_ref(x) && bad++ == 0)
      first = bits;
  };
  for (int i = 0; i < 1000000; ++i)
    check_bits(uint32_t(rng()));
  // Every tie and its neighbours, over all exponents (subnormals included).
  for (uint32_t hi = 0; hi < 0x10000; hi += 7) {
    const uint32_t tie = (hi << 16) | 0x8000u;
    check_bits(tie);
    check_bits(tie - 1);
    check_bits(tie + 1);
  }
  INFO(bad << " differ, first bits 0x" << std::hex << first);
  CHECK(bad == 0);
}

TEST_CASE("bf16: special values and overflow to inf", "[kernels]") {
  CHECK(float_to_bf16(inf) == 0x7f80);
  CHECK(float_to_bf16(-inf) == 0xff80);
  CHECK(std::isnan(bf16_to_float(float_to_bf16(qnan))));
  CHECK(std::isnan(bf16_to_float(float_to_bf16(from_bits(0x7f800001u)))));
  CHECK(float_to_bf16(-0.0f) == 0x8000);
  CHECK(float_to_bf16(std::numeric_limits<float>::max()) == 0x7f80);
  CHECK(float_to_bf16(1.0f) == 0x3f80);
  CHECK(float_to_bf16(from_bits(0x3f808000u)) == 0x3f80); // tie, even down
  CHECK(float_to_bf16(from_bits(0x3f818000u)) == 0x3f82); // tie, even up
  CHECK(float_to_bf16(from_bits(0x00018000u)) == 0x0002); // subnormal tie
}

TEST_CASE("fp16: codec round trip is the reference conversion within 2^-11",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  fp16_codec c;
  for (uint32_t n : sizes) {
    INFO("n=" << n);
    auto g = herd::kernels::test::random_floats(rng, n, -100.0f, 100.0f);
    encoded e;
    auto out = round_trip(c, g, 1, e);
    CHECK(e.data.size() == 2 * size_t(n));
    size_t bad = 0;
    for (uint32_t i = 0; i < n; ++i) {
      const double ref = fp16_value(fp16_ref(g[i]) & 0x7fff)
                         * (std::signbit(g[i]) ? -1 : 1);
      const double bound = std::max(std::fabs(double(g[i])) * 0x1p-11,
                                    0x1p-25);
      bad += double(out[i]) != ref
             || !(std::fabs(out[i] - double(g[i])) <= bound);
    }
    CHECK(bad == 0);
  }
  // Specials survive the codec too.
  std::vector<float> s = {inf, -inf, qnan, 1e-6f, 70000.0f, -0.0f, 1e-8f};
  auto out = round_trip(c, s);
  CHECK(out[0] == inf);
  CHECK(out[1] == -inf);
  CHECK(std::isnan(out[2]));
  CHECK(out[3] == std::ldexp(17.0f, -24)); // 1e-6 = 16.78 * 2^-24
  CHECK(out[4] == inf);
  CHECK((out[5] == 0.0f && std::signbit(out[5])));
  CHECK(out[6] == 0.0f); // below 2^-25
}

TEST_CASE("bf16: codec round trip is the reference conversion within 2^-8",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  bf16_codec c;
  for (uint32_t n : sizes) {
    INFO("n=" << n);
    auto g = herd::kernels::test::random_floats(rng, n, -1e6f, 1e6f);
    encoded e;
    auto out = round_trip(c, g, 1, e);
    CHECK(e.data.size() == 2 * size_t(n));
    size_t bad = 0;
    for (uint32_t i = 0; i < n; ++i) {
      const float ref = from_bits(uint32_t(bf16_ref(g[i])) << 16);
      bad += out[i] != ref
             || !(std::fabs(out[i] - double(g[i]))
                  <= std::fabs(double(g[i])) * 0x1p-8);
    }
    CHECK(bad == 0);
  }
  std::vector<float> s = {inf, -inf, qnan, 3.4e38f};
  auto out = round_trip(c, s);
  CHECK(out[0] == inf);
  CHECK(out[1] == -inf);
  CHECK(std::isnan(out[2]));
  CHECK(out[3] == inf);
}

TEST_CASE("dense_f32: codec round trip is bit exact", "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  dense_codec c;
  for (uint32_t n : sizes) {
    INFO("n=" << n);
    auto g = herd::kernels::test::random_floats(rng, n);
    g[0] = -0.0f;
    if (n > 2) {
      g[1] = inf;
      g[2] = from_bits(0x7fc01234u); // a NaN payload is kept as is
    }
    encoded e;
    auto out = round_trip(c, g, 1, e);
    CHECK(e.data.size() == 4 * size_t(n));
    CHECK(std::memcmp(out.data(), g.data(), 4 * size_t(n)) == 0);
  }
}
