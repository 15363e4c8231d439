#include "kernels/compress/topk_codec.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/kernels/compress/compress_test_util.hpp"

using namespace herd::kernels::compress;
using namespace herd::kernels::compress::test;
using herd::kernels::test::random_floats;
using herd::kernels::test::test_seed;

namespace {

codec_params topk_params(double density, bool sampled) {
  codec_params p;
  p.density = density;
  p.topk_sampled = sampled;
  return p;
}

// The naive reference: sort every index by (|g| descending, index
// ascending), keep the first k, return them ascending.
std::vector<uint32_t> ref_topk(const std::vector<float>& g, uint32_t k) {
  std::vector<uint32_t> idx(g.size());
  std::iota(idx.begin(), idx.end(), 0u);
  std::sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) {
    const float ma = std::fabs(g[a]), mb = std::fabs(g[b]);
    return ma != mb ? ma > mb : a < b;
  });
  idx.resize(k);
  std::sort(idx.begin(), idx.end());
  return idx;
}

// Checks that e's values are g at its indices and that decode is exactly
// that, zero elsewhere.
void check_values(const encoded& e, const std::vector<float>& g,
                  const std::vector<float>& out) {
  REQUIRE(e.data.size() == 4 * e.indices.size());
  std::vector<float> ref(g.size(), 0.0f);
  size_t bad = 0;
  for (size_t j = 0; j < e.indices.size(); ++j) {
    float v;
    std::memcpy(&v, e.data.data() + 4 * j, 4);
    bad += v != g[e.indices[j]];
    ref[e.indices[j]] = g[e.indices[j]];
  }
  CHECK(bad == 0);
  CHECK(out == ref);
}

} // namespace

TEST_CASE("topk: exact selection keeps the k largest magnitudes",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (double density : {0.001, 0.01, 0.1, 0.5, 1.0}) {
    topk_codec c(topk_params(density, false));
    for (uint32_t n : sizes) {
      INFO("n=" << n << " density=" << density);
      auto g = random_floats(rng, n);
      encoded e;
      auto out = round_trip(c, g, seed, e);
      const uint32_t k = sparse_count(density, n);
      CHECK(e.indices == ref_topk(g, k));
      check_values(e, g, out);
    }
  }
}

TEST_CASE("topk: k is round(density*n) clamped to 1..n", "[kernels]") {
  CHECK(sparse_count(0.01, 100000) == 1000);
  CHECK(sparse_count(0.01, 1) == 1);
  CHECK(sparse_count(0.001, 255) == 1);
  CHECK(sparse_count(0.5, 257) == 129); // 128.5 rounds away from zero
  CHECK(sparse_count(2.0, 10) == 10);
  CHECK(sparse_count(0.0, 10) == 1);
  CHECK(sparse_count(std::nan(""), 10) == 1);
  CHECK(sparse_count(0.5, 0) == 0);
}

TEST_CASE("topk: ties at the threshold go to the lowest indices",
          "[kernels]") {
  topk_codec c(topk_params(0.3, false));
  // Magnitudes 1 everywhere but two 2s: k = 3 takes both 2s and the first 1.
  std::vector<float> g = {1, -1, 1, 2, 1, -1, 1, -2, 1, 1};
  encoded e;
  auto out = round_trip(c, g, 1, e);
  CHECK(e.indices == std::vector<uint32_t>{0, 3, 7});
  check_values(e, g, out);
}

TEST_CASE("topk: NaN and inf are always sent", "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (bool sampled : {false, true}) {
    topk_codec c(topk_params(0.01, sampled));
    auto g = random_floats(rng, 100000);
    g[123] = std::numeric_limits<float>::quiet_NaN();
    g[99999] = -std::numeric_limits<float>::infinity();
    encoded e;
    c.encode(g.data(), uint32_t(g.size()), seed, e);
    REQUIRE(!c.validate(e, uint32_t(g.size())));
    auto has = [&](uint32_t i) {
      return std::binary_search(e.indices.begin(), e.indices.end(), i);
    };
    CHECK(has(123));
    CHECK(has(99999));
  }
}

TEST_CASE("topk: sampled threshold sends about k and always the largest",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  // Small slices and densities whose sample would cover half the slice take
  // the exact path: exactly the k largest.
  for (uint32_t n : sizes) {
    topk_codec c(topk_params(0.01, true));
    auto g = random_floats(rng, n);
    encoded e;
    round_trip(c, g, seed, e);
    if (n < 2 * topk_sample_min)
      CHECK(e.indices == ref_topk(g, sparse_count(0.01, n)));
  }
  // Large slices: distinct magnitudes, and magnitudes on 21 levels (the top
  // level alone holds more than 2k elements, so the cut-to-k path runs).
  const uint32_t n = 100000;
  for (double density : {0.01, 0.005}) {
    for (bool coarse : {false, true}) {
      INFO("density=" << density << " coarse=" << coarse);
      topk_codec c(topk_params(density, true));
      const uint32_t k = sparse_count(density, n);
      auto g = random_floats(rng, n);
      if (coarse)
        for (auto& x : g)
          x = std::round(x * 20.0f) / 20.0f;
      const int steps = 20;
      double total = 0;
      for (int s = 0; s < steps; ++s) {
        encoded e;
        auto out = round_trip(c, g, seed + uint64_t(s), e);
        const auto cnt = uint32_t(e.indices.size());
        INFO("step seed " << seed + s << ": sent " << cnt << " of k " << k);
        // Hard bounds, and whatever the count, exactly the cnt largest
        // (which contains every element above the sent threshold).
        CHECK(2 * cnt >= k);
        CHECK(cnt <= 2 * k);
        CHECK(e.indices == ref_topk(g, cnt));
        check_values(e, g, out);
        total += cnt;
      }
      // The spread of one count is about k/sqrt(128) (9%); of the mean of
      // 20, 2%.
      CHECK(std::fabs(total / steps - k) <= 0.1 * k);
    }
  }
}

TEST_CASE("topk: set_density changes k for the next encode", "[kernels]") {
  const auto seed = test_seed();
  std::mt19937_64 rng(seed);
  topk_codec c(topk_params(0.01, false));
  auto g = random_floats(rng, 1000);
  encoded e;
  round_trip(c, g, 1, e);
  CHECK(e.indices.size() == 10);
  c.set_density(0.25);
  round_trip(c, g, 1, e);
  CHECK(e.indices.size() == 250);
}
