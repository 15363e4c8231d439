#include "kernels/compress/sign_codec.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "kernels/compress/half.hpp" // float_bits
#include "kernels/compress/validate_util.hpp"

namespace herd::kernels::compress {

namespace {

void signs_to_floats(const uint8_t* __restrict data, float* __restrict out,
                     size_t bytes, uint32_t scale_bits) {
  for (size_t b = 0; b < bytes; ++b) {
    const uint32_t byte = data[b];
    for (uint32_t j = 0; j < 8; ++j)
      out[8 * b + j] = bits_float(scale_bits | (((byte >> j) & 1u) << 31));
  }
}

} // namespace

sign_codec::sign_codec(const codec_params& p)
  : bucket_(std::max<uint32_t>(1, p.bucket)) {
}

void sign_codec::encode(const float* g, uint32_t n, uint64_t, encoded& out) {
  out.kind = codec_kind::sign;
  out.count = n;
  out.indices.clear();
  out.bucket = bucket_;
  out.levels = 0;
  out.seed = 0;
  out.data.assign((size_t(n) + 7) / 8, 0);
  out.scales.resize(detail::bucket_count(n, bucket_));
  for (size_t b = 0; b < out.scales.size(); ++b) {
    const size_t lo = b * bucket_;
    const size_t hi = std::min<size_t>(n, lo + bucket_);
    // Eight partial sums keep the loop vectorizable.
    double sum[8] = {};
    size_t i = lo;
    for (; i + 8 <= hi; i += 8)
      for (uint32_t j = 0; j < 8; ++j)
        sum[j] += std::fabs(double(g[i + j]));
    for (; i < hi; ++i)
      sum[0] += std::fabs(double(g[i]));
    double total = 0.0;
    for (double s : sum)
      total += s;
    out.scales[b] = float(total / double(hi - lo));
  }
  const size_t full = n / 8;
  for (size_t b = 0; b < full; ++b) {
    uint32_t byte = 0;
    for (uint32_t j = 0; j < 8; ++j)
      byte |= uint32_t(g[8 * b + j] < 0.0f) << j;
    out.data[b] = uint8_t(byte);
  }
  if (full * 8 < n) {
    uint32_t byte = 0;
    for (uint32_t i = uint32_t(full * 8); i < n; ++i)
      byte |= uint32_t(g[i] < 0.0f) << (i % 8);
    out.data[full] = uint8_t(byte);
  }
}

std::optional<std::string>
sign_codec::validate(const encoded& e, uint32_t expected_count) const {
  using namespace detail;
  const auto name = "sign";
  if (auto err = check_header(name, e, codec_kind::sign, expected_count))
    return err;
  if (auto err = check_empty(name, "indices", e.indices))
    return err;
  if (e.bucket == 0)
    return fail(name, "bucket is 0, expected >= 1");
  if (auto err = check_scales(name, e, bucket_count(e.count, e.bucket)))
    return err;
  if (auto err = check_data_size(name, e, (size_t(e.count) + 7) / 8))
    return err;
  if (e.count % 8 != 0 && (e.data.back() >> (e.count % 8)) != 0)
    return fail(name, "padding bits after the last sign are not 0");
  return std::nullopt;
}

void sign_codec::decode(const encoded& e, float* out) const {
  assert(!validate(e, e.count));
  // The wire bit becomes the sign bit of the output (scales are >= 0).
  // Buckets are whole bytes when B is a multiple of 8; others go per element.
  if (e.bucket % 8 == 0) {
    for (size_t b = 0; b < e.scales.size(); ++b) {
      const uint32_t s = float_bits(e.scales[b]);
      const size_t lo = b * e.bucket;
      const size_t hi = std::min<size_t>(e.count, lo + e.bucket);
      const size_t full = (hi - lo) / 8;
      signs_to_floats(e.data.data() + lo / 8, out + lo, full, s);
      for (size_t i = lo + 8 * full; i < hi; ++i)
        out[i] = bits_float(s | (uint32_t((e.data[i / 8] >> (i % 8)) & 1u) << 31));
    }
    return;
  }
  for (uint32_t i = 0; i < e.count; ++i)
    out[i] = bits_float(float_bits(e.scales[i / e.bucket])
                        | (uint32_t((e.data[i / 8] >> (i % 8)) & 1u) << 31));
}

} // namespace herd::kernels::compress
