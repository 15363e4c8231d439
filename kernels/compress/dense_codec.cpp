#include "kernels/compress/dense_codec.hpp"

#include <bit>
#include <cassert>
#include <cstring>

#include "kernels/compress/validate_util.hpp"

namespace herd::kernels::compress {

static_assert(std::endian::native == std::endian::little,
              "the wire layouts are little-endian and copied as is");

void dense_codec::encode(const float* g, uint32_t n, uint64_t, encoded& out) {
  out.kind = codec_kind::dense_f32;
  out.count = n;
  out.indices.clear();
  out.scales.clear();
  out.bucket = 0;
  out.levels = 0;
  out.seed = 0;
  out.data.resize(4 * size_t(n));
  if (n != 0)
    std::memcpy(out.data.data(), g, 4 * size_t(n));
}

std::optional<std::string>
dense_codec::validate(const encoded& e, uint32_t expected_count) const {
  using namespace detail;
  const auto name = "dense_f32";
  if (auto err = check_header(name, e, codec_kind::dense_f32, expected_count))
    return err;
  if (auto err = check_empty(name, "indices", e.indices))
    return err;
  if (auto err = check_empty(name, "scales", e.scales))
    return err;
  return check_data_size(name, e, 4 * size_t(e.count));
}

void dense_codec::decode(const encoded& e, float* out) const {
  assert(!validate(e, e.count));
  if (e.count != 0)
    std::memcpy(out, e.data.data(), 4 * size_t(e.count));
}

} // namespace herd::kernels::compress
