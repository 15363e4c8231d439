#include "kernels/compress/bf16_codec.hpp"

#include <cassert>
#include <cstring>

#include "kernels/compress/half.hpp"
#include "kernels/compress/validate_util.hpp"

namespace herd::kernels::compress {

namespace {

// Little-endian halves, written through memcpy so the loops vectorize.
void convert(const float* __restrict g, uint8_t* __restrict d, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const uint16_t h = float_to_bf16(g[i]);
    std::memcpy(d + 2 * i, &h, 2);
  }
}

void restore(const uint8_t* __restrict d, float* __restrict out, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, d + 2 * i, 2);
    out[i] = bf16_to_float(h);
  }
}

} // namespace

void bf16_codec::encode(const float* g, uint32_t n, uint64_t,
                        encoded& out) {
  out.kind = codec_kind::bf16;
  out.count = n;
  out.indices.clear();
  out.scales.clear();
  out.bucket = 0;
  out.levels = 0;
  out.seed = 0;
  out.data.resize(2 * size_t(n));
  convert(g, out.data.data(), n);
}

std::optional<std::string>
bf16_codec::validate(const encoded& e, uint32_t expected_count) const {
  using namespace detail;
  const auto name = "bf16";
  if (auto err = check_header(name, e, codec_kind::bf16, expected_count))
    return err;
  if (auto err = check_empty(name, "indices", e.indices))
    return err;
  if (auto err = check_empty(name, "scales", e.scales))
    return err;
  return check_data_size(name, e, 2 * size_t(e.count));
}

void bf16_codec::decode(const encoded& e, float* out) const {
  assert(!validate(e, e.count));
  restore(e.data.data(), out, e.count);
}

} // namespace herd::kernels::compress
