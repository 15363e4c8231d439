#include "kernels/compress/int8_codec.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "kernels/compress/counter_rng.hpp"
#include "kernels/compress/validate_util.hpp"

namespace herd::kernels::compress {

namespace {

constexpr uint64_t int8_salt = 0x696e7438; // "int8"

// Stochastic rounding of g[lo, hi) / scale. floor is written as a truncation
// and a correction (|t| <= 127 fits an int) so that the loop vectorizes
// without SSE4.1. Division, not a reciprocal: a subnormal scale has no
// finite one.
void quantize(const float* __restrict g, int8_t* __restrict codes, size_t lo,
              size_t hi, float scale, uint64_t key) {
  for (size_t i = lo; i < hi; ++i) {
    const float t = g[i] / scale;
    const float tr = float(int32_t(t));
    const float fl = tr > t ? tr - 1.0f : tr;
    float q = uniform01(key, uint32_t(i)) < t - fl ? fl + 1.0f : fl;
    q = std::min(std::max(q, -127.0f), 127.0f);
    codes[i] = int8_t(int32_t(q));
  }
}

} // namespace

int8_codec::int8_codec(const codec_params& p)
  : bucket_(std::max<uint32_t>(1, p.bucket)) {
}

void int8_codec::encode(const float* g, uint32_t n, uint64_t step_seed,
                        encoded& out) {
  out.kind = codec_kind::int8;
  out.count = n;
  out.indices.clear();
  out.bucket = bucket_;
  out.levels = 0;
  out.seed = 0;
  out.data.resize(n);
  out.scales.resize(detail::bucket_count(n, bucket_));
  const uint64_t key = stream_key(step_seed, int8_salt);
  auto* codes = reinterpret_cast<int8_t*>(out.data.data());
  for (size_t b = 0; b < out.scales.size(); ++b) {
    const size_t lo = b * bucket_;
    const size_t hi = std::min<size_t>(n, lo + bucket_);
    float absmax = 0.0f;
    bool nan = false;
    for (size_t i = lo; i < hi; ++i) {
      absmax = std::max(absmax, std::fabs(g[i]));
      nan |= std::isnan(g[i]);
    }
    const float scale = nan ? NAN : absmax / 127.0f;
    out.scales[b] = scale;
    if (!(scale > 0.0f) || !std::isfinite(scale)) {
      std::fill(codes + lo, codes + hi, int8_t{0});
      continue;
    }
    quantize(g, codes, lo, hi, scale, key);
  }
}

std::optional<std::string>
int8_codec::validate(const encoded& e, uint32_t expected_count) const {
  using namespace detail;
  const auto name = "int8";
  if (auto err = check_header(name, e, codec_kind::int8, expected_count))
    return err;
  if (auto err = check_empty(name, "indices", e.indices))
    return err;
  if (e.bucket == 0)
    return fail(name, "bucket is 0, expected >= 1");
  if (auto err = check_scales(name, e, bucket_count(e.count, e.bucket)))
    return err;
  if (auto err = check_data_size(name, e, e.count))
    return err;
  for (size_t i = 0; i < e.data.size(); ++i)
    if (e.data[i] == 0x80)
      return fail(name, "code " + std::to_string(i)
                          + " is -128, outside [-127, 127]");
  return std::nullopt;
}

void int8_codec::decode(const encoded& e, float* out) const {
  assert(!validate(e, e.count));
  const auto* codes = reinterpret_cast<const int8_t*>(e.data.data());
  for (size_t b = 0; b < e.scales.size(); ++b) {
    const size_t lo = b * e.bucket;
    const size_t hi = std::min<size_t>(e.count, lo + e.bucket);
    const float scale = e.scales[b];
    for (size_t i = lo; i < hi; ++i)
      out[i] = float(codes[i]) * scale;
  }
}

} // namespace herd::kernels::compress
