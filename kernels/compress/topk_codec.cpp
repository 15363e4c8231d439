#include "kernels/compress/topk_codec.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <functional>

#include "kernels/compress/counter_rng.hpp"
#include "kernels/compress/half.hpp" // float_bits
#include "kernels/compress/validate_util.hpp"

namespace herd::kernels::compress {

namespace {

constexpr uint64_t topk_salt = 0x746f706b; // "topk"

// The ordering key: the bits of |x|. For non-negative floats the bit pattern
// orders like the value, and NaN patterns lie above inf, so NaN counts as the
// largest magnitude. -0 and +0 share key 0.
inline uint32_t magnitude_key(float x) {
  return float_bits(x) & 0x7fffffffu;
}

// Radix prefilter: the key's top 11 bits (sign excluded) pick one of 2048
// coarse buckets.
constexpr uint32_t coarse_shift = 20;
constexpr uint32_t coarse_buckets = 1u << (31 - coarse_shift);

} // namespace

topk_codec::topk_codec(const codec_params& p)
  : density_(p.density), sampled_(p.topk_sampled) {
}

void topk_codec::select_exact(const float* g, const uint32_t* cand,
                              uint32_t m, uint32_t k,
                              std::vector<uint32_t>& idx) {
  auto key_at = [&](uint32_t j) {
    return magnitude_key(g[cand ? cand[j] : j]);
  };
  // Find the coarse bucket holding the k-th largest key and how many keys
  // lie in the buckets above it.
  hist_.assign(coarse_buckets, 0);
  for (uint32_t j = 0; j < m; ++j)
    ++hist_[key_at(j) >> coarse_shift];
  uint32_t bucket = coarse_buckets - 1, above = 0;
  while (above + hist_[bucket] < k)
    above += hist_[bucket--];
  // nth_element among that bucket's keys gives the k-th largest key t.
  keys_.clear();
  for (uint32_t j = 0; j < m; ++j) {
    const uint32_t key = key_at(j);
    if ((key >> coarse_shift) == bucket)
      keys_.push_back(key);
  }
  const uint32_t need = k - above; // in [1, hist_[bucket]]
  std::nth_element(keys_.begin(), keys_.begin() + (need - 1), keys_.end(),
                   std::greater<uint32_t>());
  const uint32_t t = keys_[need - 1];
  for (uint32_t key : keys_)
    above += key > t ? 1u : 0u;
  // Send every key above t, and keys equal to t in index order until k.
  uint32_t ties = k - above; // >= 1: t itself is in the top k
  idx.resize(k);
  uint32_t out = 0;
  for (uint32_t j = 0; j < m && out < k; ++j) {
    const uint32_t key = key_at(j);
    if (key > t || (key == t && ties > 0 && ties--))
      idx[out++] = cand ? cand[j] : j;
  }
  assert(out == k);
}

bool topk_codec::select_sampled(const float* g, uint32_t n, uint32_t k,
                                uint64_t step_seed,
                                std::vector<uint32_t>& idx) {
  const double want = double(topk_sample_hits) * n / k;
  const uint64_t m = std::max<uint64_t>(topk_sample_min, uint64_t(want));
  if (2 * m >= n)
    return false;
  const uint64_t key = stream_key(step_seed, topk_salt);
  keys_.resize(m);
  for (uint64_t j = 0; j < m; ++j)
    keys_[j] = magnitude_key(g[uniform_below(draw64(key, j), n)]);
  // The sample's order statistic of the same rank as k in n.
  const auto rank = std::clamp<uint64_t>(
    uint64_t(std::llround(double(k) * double(m) / n)), 1, m);
  std::nth_element(keys_.begin(), keys_.begin() + (rank - 1), keys_.end(),
                   std::greater<uint32_t>());
  const uint32_t t = keys_[rank - 1];
  cand_.clear();
  for (uint32_t i = 0; i < n; ++i)
    if (magnitude_key(g[i]) >= t)
      cand_.push_back(i);
  const auto c = cand_.size();
  if (2 * c < k)
    return false;
  if (c > 2 * size_t(k)) {
    select_exact(g, cand_.data(), uint32_t(c), k, idx);
  } else {
    idx.swap(cand_);
  }
  return true;
}

void topk_codec::encode(const float* g, uint32_t n, uint64_t step_seed,
                        encoded& out) {
  out.kind = codec_kind::topk;
  out.count = n;
  out.scales.clear();
  out.bucket = 0;
  out.levels = 0;
  out.seed = 0;
  const uint32_t k = sparse_count(density_, n);
  if (k == 0) {
    out.indices.clear();
  } else if (k == n) {
    out.indices.resize(n);
    for (uint32_t i = 0; i < n; ++i)
      out.indices[i] = i;
  } else if (!sampled_ || !select_sampled(g, n, k, step_seed, out.indices)) {
    select_exact(g, nullptr, n, k, out.indices);
  }
  out.data.resize(4 * out.indices.size());
  auto* d = out.data.data();
  for (size_t j = 0; j < out.indices.size(); ++j)
    std::memcpy(d + 4 * j, &g[out.indices[j]], 4);
}

std::optional<std::string>
topk_codec::validate(const encoded& e, uint32_t expected_count) const {
  using namespace detail;
  const auto name = "topk";
  if (auto err = check_header(name, e, codec_kind::topk, expected_count))
    return err;
  if (auto err = check_empty(name, "scales", e.scales))
    return err;
  if (e.indices.empty() && e.count != 0)
    return fail(name, "no indices for " + std::to_string(e.count)
                        + " elements, expected at least 1");
  if (e.indices.size() > e.count)
    return fail(name, std::to_string(e.indices.size())
                        + " indices for " + std::to_string(e.count)
                        + " elements");
  if (auto err = check_data_size(name, e, 4 * e.indices.size()))
    return err;
  return check_indices(name, e.indices, e.count);
}

void topk_codec::decode(const encoded& e, float* out) const {
  assert(!validate(e, e.count));
  std::fill(out, out + e.count, 0.0f);
  const auto* d = e.data.data();
  for (size_t j = 0; j < e.indices.size(); ++j)
    std::memcpy(&out[e.indices[j]], d + 4 * j, 4);
}

} // namespace herd::kernels::compress
