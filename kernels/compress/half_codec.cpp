// fp16_codec and bf16_codec: one implementation, two 16-bit formats (kernels/compress/half.hpp).
#include <cassert>
#include <cstring>

#include "kernels/compress/bf16_codec.hpp"
#include "kernels/compress/fp16_codec.hpp"
#include "kernels/compress/half.hpp"
#include "kernels/compress/validate_util.hpp"

namespace herd::kernels::compress {

namespace {

using to_half_fn = uint16_t (*)(float);
using from_half_fn = float (*)(uint16_t);

// Little-endian halves, written through memcpy so the loops vectorize.
template <to_half_fn ToHalf>
void encode_half(codec_kind kind, const float* __restrict g, uint32_t n, encoded& out) {
  out.kind = kind;
  out.count = n;
  out.indices.clear();
  out.scales.clear();
  out.bucket = 0;
  out.levels = 0;
  out.seed = 0;
  out.data.resize(2 * size_t(n));
  uint8_t* __restrict d = out.data.data();
  for (size_t i = 0; i < n; ++i) {
    const uint16_t h = ToHalf(g[i]);
    std::memcpy(d + 2 * i, &h, 2);
  }
}

std::optional<std::string> validate_half(const char* name, codec_kind kind, const encoded& e,
                                         uint32_t expected_count) {
  using namespace detail;
  if (auto err = check_header(name, e, kind, expected_count))
    return err;
  if (auto err = check_empty(name, "indices", e.indices))
    return err;
  if (auto err = check_empty(name, "scales", e.scales))
    return err;
  return check_data_size(name, e, 2 * size_t(e.count));
}

template <from_half_fn FromHalf>
void decode_half(const encoded& e, float* __restrict out) {
  const uint8_t* __restrict d = e.data.data();
  for (size_t i = 0; i < e.count; ++i) {
    uint16_t h;
    std::memcpy(&h, d + 2 * i, 2);
    out[i] = FromHalf(h);
  }
}

} // namespace

void fp16_codec::encode(const float* g, uint32_t n, uint64_t, encoded& out) {
  encode_half<float_to_fp16>(codec_kind::fp16, g, n, out);
}

std::optional<std::string> fp16_codec::validate(const encoded& e, uint32_t count) const {
  return validate_half("fp16", codec_kind::fp16, e, count);
}

void fp16_codec::decode(const encoded& e, float* out) const {
  assert(!validate(e, e.count));
  decode_half<fp16_to_float>(e, out);
}

void bf16_codec::encode(const float* g, uint32_t n, uint64_t, encoded& out) {
  encode_half<float_to_bf16>(codec_kind::bf16, g, n, out);
}

std::optional<std::string> bf16_codec::validate(const encoded& e, uint32_t count) const {
  return validate_half("bf16", codec_kind::bf16, e, count);
}

void bf16_codec::decode(const encoded& e, float* out) const {
  assert(!validate(e, e.count));
  decode_half<bf16_to_float>(e, out);
}

} // namespace herd::kernels::compress
