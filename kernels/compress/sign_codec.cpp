#include "kernels/compress/sign_codec.hpp"

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

void sign_codec::encode(const float* g, uint32_t n, uint64_t, encoded& out) {
  out.kind = codec_kind::sign;
  out.count = n;
  out.indices.clear();
  out.bucket = 0;
  out.levels = 0;
  out.seed = 0;
  out.data.resize((size_t(n) + 7) / 8);
  // Eight partial sums (one per bit position) keep the loop vectorizable.
  double sum[8] = {};
  const size_t full = n / 8;
  for (size_t b = 0; b < full; ++b) {
    uint32_t byte = 0;
    for (uint32_t j = 0; j < 8; ++j) {
      const float x = g[8 * b + j];
      byte |= uint32_t(x < 0.0f) << j;
      sum[j] += std::fabs(double(x));
    }
    out.data[b] = uint8_t(byte);
  }
  if (full * 8 < n) {
    uint32_t byte = 0;
    for (uint32_t i = uint32_t(full * 8); i < n; ++i) {
      byte |= uint32_t(g[i] < 0.0f) << (i % 8);
      sum[0] += std::fabs(double(g[i]));
    }
    out.data[full] = uint8_t(byte);
  }
  double total = 0.0;
  for (double s : sum)
    total += s;
  out.scales.assign(1, n == 0 ? 0.0f : float(total / n));
}

std::optional<std::string>
sign_codec::validate(const encoded& e, uint32_t expected_count) const {
  using namespace detail;
  const auto name = "sign";
  if (auto err = check_header(name, e, codec_kind::sign, expected_count))
    return err;
  if (auto err = check_empty(name, "indices", e.indices))
    return err;
  if (auto err = check_scales(name, e, 1))
    return err;
  if (auto err = check_data_size(name, e, (size_t(e.count) + 7) / 8))
    return err;
  if (e.count % 8 != 0 && (e.data.back() >> (e.count % 8)) != 0)
    return fail(name, "padding bits after the last sign are not 0");
  return std::nullopt;
}

void sign_codec::decode(const encoded& e, float* out) const {
  assert(!validate(e, e.count));
  // The wire bit becomes the sign bit of the output (scale >= 0).
  const uint32_t s = float_bits(e.scales[0]);
  const size_t full = e.count / 8;
  signs_to_floats(e.data.data(), out, full, s);
  for (uint32_t i = uint32_t(full * 8); i < e.count; ++i)
    out[i] = bits_float(s | (uint32_t((e.data[full] >> (i % 8)) & 1u) << 31));
}

} // namespace herd::kernels::compress
