#include "kernels/compress/randk_codec.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>

#include "kernels/compress/counter_rng.hpp"
#include "kernels/compress/validate_util.hpp"

namespace herd::kernels::compress {

namespace {
constexpr uint64_t randk_salt = 0x72616e646b; // "randk"
} // namespace

void randk_indices(uint64_t seed, uint32_t n, uint32_t k,
                   std::vector<uint32_t>& out) {
  assert(k <= n);
  out.resize(k);
  if (k == n) {
    for (uint32_t i = 0; i < n; ++i)
      out[i] = i;
    return;
  }
  std::vector<uint64_t> bits((size_t(n) + 63) / 64, 0);
  auto test_and_set = [&](uint32_t i) {
    const uint64_t mask = uint64_t(1) << (i % 64);
    const bool was = bits[i / 64] & mask;
    bits[i / 64] |= mask;
    return was;
  };
  // Floyd: for j = n-k .. n-1 pick t in [0, j]; take t, or j if t is taken.
  const uint64_t key = stream_key(seed, randk_salt);
  for (uint32_t j = n - k; j < n; ++j) {
    const uint32_t t = uniform_below(draw64(key, j), j + 1);
    if (test_and_set(t))
      test_and_set(j);
  }
  size_t o = 0;
  for (size_t w = 0; w < bits.size(); ++w)
    for (uint64_t b = bits[w]; b != 0; b &= b - 1)
      out[o++] = uint32_t(w * 64 + std::countr_zero(b));
  assert(o == k);
}

randk_codec::randk_codec(const codec_params& p) : density_(p.density) {
}

void randk_codec::encode(const float* g, uint32_t n, uint64_t step_seed,
                         encoded& out) {
  out.kind = codec_kind::randk;
  out.count = n;
  out.indices.clear();
  out.scales.clear();
  out.bucket = 0;
  out.levels = 0;
  out.seed = step_seed;
  const uint32_t k = sparse_count(density_, n);
  randk_indices(step_seed, n, k, idx_);
  const float scale = k == 0 ? 0.0f : float(double(n) / k);
  out.data.resize(4 * size_t(k));
  auto* d = out.data.data();
  for (uint32_t j = 0; j < k; ++j) {
    const float v = g[idx_[j]] * scale;
    std::memcpy(d + 4 * size_t(j), &v, 4);
  }
}

std::optional<std::string>
randk_codec::validate(const encoded& e, uint32_t expected_count) const {
  using namespace detail;
  const auto name = "randk";
  if (auto err = check_header(name, e, codec_kind::randk, expected_count))
    return err;
  if (!e.indices.empty())
    return fail(name, "indices has " + std::to_string(e.indices.size())
                        + " entries, expected none (they derive from the "
                          "seed)");
  if (auto err = check_empty(name, "scales", e.scales))
    return err;
  if (e.data.size() % 4 != 0)
    return fail(name, "data has " + std::to_string(e.data.size())
                        + " bytes, not a whole number of fp32 values");
  const size_t k = e.data.size() / 4;
  if (k == 0 && e.count != 0)
    return fail(name, "no values for " + std::to_string(e.count)
                        + " elements, expected at least 1");
  if (k > e.count)
    return fail(name, std::to_string(k) + " values for "
                        + std::to_string(e.count) + " elements");
  return std::nullopt;
}

void randk_codec::decode(const encoded& e, float* out) const {
  assert(!validate(e, e.count));
  std::vector<uint32_t> idx;
  randk_indices(e.seed, e.count, uint32_t(e.data.size() / 4), idx);
  std::fill(out, out + e.count, 0.0f);
  const auto* d = e.data.data();
  for (size_t j = 0; j < idx.size(); ++j)
    std::memcpy(&out[idx[j]], d + 4 * j, 4);
}

} // namespace herd::kernels::compress
