#pragma once

// Checks shared by the codecs' validate(). Each returns nullopt when the
// field is consistent and one line "<codec>: <problem>" otherwise.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/compress/encoded.hpp"

namespace herd::kernels::compress::detail {

using check = std::optional<std::string>;

std::string fail(std::string_view codec, const std::string& problem);

// kind == want and count == expected_count.
check check_header(std::string_view codec, const encoded& e, codec_kind want,
                   uint32_t expected_count);

// v is empty (a field this codec does not use).
template <class T>
check check_empty(std::string_view codec, std::string_view field,
                  const std::vector<T>& v) {
  if (v.empty())
    return std::nullopt;
  return fail(codec, std::string(field) + " has " + std::to_string(v.size())
                       + " entries, expected none");
}

// data.size() == want.
check check_data_size(std::string_view codec, const encoded& e, size_t want);

// scales.size() == want and every scale is finite and >= 0.
check check_scales(std::string_view codec, const encoded& e, size_t want);

// Indices strictly increasing and < count.
check check_indices(std::string_view codec, const std::vector<uint32_t>& idx,
                    uint32_t count);

// Buckets of size `bucket` over count elements (0 when count is 0).
inline size_t bucket_count(uint32_t count, uint32_t bucket) {
  return bucket == 0 ? 0 : (size_t(count) + bucket - 1) / bucket;
}

} // namespace herd::kernels::compress::detail
