#include "kernels/compress/topk_candidates.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include <catch2/catch.hpp>

#include "kernels/compress/codec_params.hpp"
#include "kernels/compress/half.hpp"
#include "kernels/compress/topk_codec.hpp"
#include "tests/kernels/test_util.hpp"

using namespace herd::kernels::compress;
using namespace herd::kernels::test;

namespace {

// What the GPU's threshold pass hands over: the elements in or above the histogram bucket
// that holds the k-th largest magnitude, shuffled (the device appends them with atomics).
void candidates(const std::vector<float>& g, uint32_t k, std::mt19937_64& rng,
                std::vector<uint32_t>& idx, std::vector<float>& val) {
  std::vector<uint32_t> hist(topk_buckets, 0);
  for (float v : g)
    ++hist[topk_bucket_key(float_bits(v))];
  uint32_t b = topk_buckets, seen = 0;
  while (b > 0 && seen < k)
    seen += hist[--b];
  idx.clear();
  val.clear();
  std::vector<uint32_t> order(g.size());
  std::iota(order.begin(), order.end(), 0u);
  std::shuffle(order.begin(), order.end(), rng);
  for (uint32_t i : order)
    if (topk_bucket_key(float_bits(g[i])) >= b) {
      idx.push_back(i);
      val.push_back(g[i]);
    }
}

} // namespace

TEST_CASE("topk_from_candidates: the threshold candidates give topk_codec's exact bytes",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> idx, scratch;
  std::vector<float> val;
  for (double density : {0.001, 0.01, 0.3, 1.0})
    for (uint32_t n : {1u, 255u, 256u, 257u, 100'003u}) {
      INFO("n=" << n << " density=" << density);
      auto g = random_floats(rng, n);
      for (uint32_t i = 0; i < n; i += 13)
        g[i] = -0.25f; // many ties at one magnitude
      if (n > 10)
        g[7] = std::numeric_limits<float>::quiet_NaN(); // NaN counts as the largest
      codec_params p;
      p.density = density;
      topk_codec cpu(p);
      encoded want;
      cpu.encode(g.data(), n, 0, want);
      const uint32_t k = sparse_count(density, n);
      candidates(g, k, rng, idx, val);
      REQUIRE(idx.size() >= k);
      encoded got;
      topk_from_candidates(idx.data(), val.data(), uint32_t(idx.size()), k, n, got, scratch);
      CHECK(got.kind == codec_kind::topk);
      CHECK(got.count == n);
      CHECK(got.indices == want.indices);
      CHECK(got.data == want.data);
      CHECK(!cpu.validate(got, n).has_value());
    }
}
