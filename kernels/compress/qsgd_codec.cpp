#include "kernels/compress/qsgd_codec.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>

#include "kernels/compress/code_packing.hpp"
#include "kernels/compress/counter_rng.hpp"
#include "kernels/compress/validate_util.hpp"

namespace herd::kernels::compress {

namespace {

constexpr uint64_t qsgd_salt = 0x71736764; // "qsgd"

// Codes (sign | level << 1) of g[lo, hi) for a bucket of norm `norm`.
// r >= 0, so floor is a truncation (r <= s fits an int): the loop
// vectorizes. Division, not a reciprocal: a subnormal norm has no finite one.
void quantize(const float* __restrict g, uint16_t* __restrict codes,
              size_t lo, size_t hi, float norm, float s, uint64_t key) {
  for (size_t i = lo; i < hi; ++i) {
    const float r = std::fabs(g[i]) / norm * s;
    const float fl = float(int32_t(r));
    float level = uniform01(key, uint32_t(i)) < r - fl ? fl + 1.0f : fl;
    level = std::min(level, s);
    const uint32_t sign = g[i] < 0.0f && level > 0.0f ? 1u : 0u;
    codes[i] = uint16_t(sign | (uint32_t(level) << 1));
  }
}

// In double, over four partial sums so that the adds overlap.
float l2_norm(const float* g, size_t n) {
  double sq[4] = {};
  size_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (size_t j = 0; j < 4; ++j)
      sq[j] += double(g[i + j]) * double(g[i + j]);
  for (; i < n; ++i)
    sq[0] += double(g[i]) * double(g[i]);
  return float(std::sqrt((sq[0] + sq[1]) + (sq[2] + sq[3])));
}

void dequantize(const uint16_t* __restrict codes, float* __restrict out,
                size_t lo, size_t hi, float unit) {
  for (size_t i = lo; i < hi; ++i) {
    const float v = float(codes[i] >> 1) * unit;
    out[i] = (codes[i] & 1u) ? -v : v;
  }
}

} // namespace

qsgd_codec::qsgd_codec(const codec_params& p)
  : bucket_(std::max<uint32_t>(1, p.bucket)),
    levels_(std::clamp<uint32_t>(p.levels, 1, qsgd_max_levels)) {
}

uint32_t qsgd_codec::code_bits(uint32_t levels) {
  return 1 + static_cast<uint32_t>(std::bit_width(levels));
}

void qsgd_codec::encode(const float* g, uint32_t n, uint64_t step_seed,
                        encoded& out) {
  out.kind = codec_kind::qsgd;
  out.count = n;
  out.indices.clear();
  out.bucket = bucket_;
  out.levels = levels_;
  out.seed = 0;
  out.scales.resize(detail::bucket_count(n, bucket_));
  codes_.resize(n);
  const uint64_t key = stream_key(step_seed, qsgd_salt);
  const float s = float(levels_);
  for (size_t b = 0; b < out.scales.size(); ++b) {
    const size_t lo = b * bucket_;
    const size_t hi = std::min<size_t>(n, lo + bucket_);
    const float norm = l2_norm(g + lo, hi - lo);
    out.scales[b] = norm;
    if (!(norm > 0.0f) || !std::isfinite(norm)) {
      std::fill(codes_.begin() + lo, codes_.begin() + hi, uint16_t{0});
      continue;
    }
    quantize(g, codes_.data(), lo, hi, norm, s, key);
  }
  const uint32_t w = code_bits(levels_);
  out.data.resize(packed_bytes(n, w));
  pack_codes(codes_.data(), n, w, out.data.data());
}

std::optional<std::string>
qsgd_codec::validate(const encoded& e, uint32_t expected_count) const {
  using namespace detail;
  const auto name = "qsgd";
  if (auto err = check_header(name, e, codec_kind::qsgd, expected_count))
    return err;
  if (auto err = check_empty(name, "indices", e.indices))
    return err;
  if (e.bucket == 0)
    return fail(name, "bucket is 0, expected >= 1");
  if (e.levels == 0 || e.levels > qsgd_max_levels)
    return fail(name, "levels is " + std::to_string(e.levels)
                        + ", expected 1.." + std::to_string(qsgd_max_levels));
  if (auto err = check_scales(name, e, bucket_count(e.count, e.bucket)))
    return err;
  const uint32_t w = code_bits(e.levels);
  if (auto err = check_data_size(name, e, packed_bytes(e.count, w)))
    return err;
  std::vector<uint16_t> codes(e.count);
  if (!unpack_codes(e.data.data(), e.count, w, codes.data()))
    return fail(name, "padding bits after the last code are not 0");
  for (uint32_t i = 0; i < e.count; ++i)
    if ((codes[i] >> 1) > e.levels)
      return fail(name, "code " + std::to_string(i) + " has level "
                          + std::to_string(codes[i] >> 1)
                          + ", above levels " + std::to_string(e.levels));
  return std::nullopt;
}

void qsgd_codec::decode(const encoded& e, float* out) const {
  assert(!validate(e, e.count));
  std::vector<uint16_t> codes(e.count);
  unpack_codes(e.data.data(), e.count, code_bits(e.levels), codes.data());
  for (size_t b = 0; b < e.scales.size(); ++b) {
    const size_t lo = b * e.bucket;
    const size_t hi = std::min<size_t>(e.count, lo + e.bucket);
    dequantize(codes.data(), out, lo, hi, e.scales[b] / float(e.levels));
  }
}

} // namespace herd::kernels::compress
