#include "kernels/compress/validate_util.hpp"

#include <cmath>

namespace herd::kernels::compress::detail {

std::string fail(std::string_view codec, const std::string& problem) {
  std::string out(codec);
  out += ": ";
  out += problem;
  return out;
}

check check_header(std::string_view codec, const encoded& e, codec_kind want,
                   uint32_t expected_count) {
  if (e.kind != want)
    return fail(codec, "kind is " + std::string(kind_name(e.kind))
                         + ", expected " + std::string(kind_name(want)));
  if (e.count != expected_count)
    return fail(codec, "count is " + std::to_string(e.count) + ", expected "
                         + std::to_string(expected_count));
  return std::nullopt;
}

check check_data_size(std::string_view codec, const encoded& e, size_t want) {
  if (e.data.size() == want)
    return std::nullopt;
  return fail(codec, "data has " + std::to_string(e.data.size())
                       + " bytes, expected " + std::to_string(want));
}

check check_scales(std::string_view codec, const encoded& e, size_t want) {
  if (e.scales.size() != want)
    return fail(codec, "scales has " + std::to_string(e.scales.size())
                         + " entries, expected " + std::to_string(want));
  for (size_t i = 0; i < e.scales.size(); ++i) {
    const float s = e.scales[i];
    if (!std::isfinite(s) || s < 0.0f)
      return fail(codec, "scale " + std::to_string(i) + " is "
                           + std::to_string(s)
                           + ", expected finite and >= 0");
  }
  return std::nullopt;
}

check check_indices(std::string_view codec, const std::vector<uint32_t>& idx,
                    uint32_t count) {
  for (size_t j = 0; j < idx.size(); ++j) {
    if (idx[j] >= count)
      return fail(codec, "index " + std::to_string(j) + " is "
                           + std::to_string(idx[j]) + ", out of range for "
                           + std::to_string(count) + " elements");
    if (j > 0 && idx[j] <= idx[j - 1])
      return fail(codec, "index " + std::to_string(j) + " is "
                           + std::to_string(idx[j])
                           + ", not greater than the previous ("
                           + std::to_string(idx[j - 1]) + ")");
  }
  return std::nullopt;
}

} // namespace herd::kernels::compress::detail
