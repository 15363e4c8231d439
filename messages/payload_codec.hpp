// The one Cap'n Proto codec: parameter slices and gradients to and from owned byte buffers.
// No capnp header leaks out of here; decoders validate everything before writing any output.
#pragma once

#include <cstdint>
#include <vector>

#include "messages/errc.hpp"

namespace herd::messages {

enum class dense_format : uint8_t { f32, bf16 };

struct slice_header {
  uint32_t shard = 0;
  uint64_t offset = 0;
  uint32_t count = 0;
  uint64_t version = 0;
};

struct gradient_header {
  uint32_t worker = 0;
  uint32_t incarnation = 0;
  uint64_t clock = 0;
  uint64_t base_version = 0;
  uint32_t shard = 0;
  uint64_t offset = 0;
  uint32_t count = 0;
  uint32_t samples = 0;
};

/// What a decoder requires of a payload: its shard, offset and element count.
struct slice_expectation {
  uint32_t shard = 0;
  uint64_t offset = 0;
  uint32_t count = 0;
};

/// Encodes `h.count` values as a ParamSlice message.
std::vector<char> encode_slice(const slice_header& h, const float* values, dense_format fmt);

/// Decodes a ParamSlice into `out` (room for `want.count` floats); refuses any mismatch.
expected<slice_header> decode_slice(const std::vector<char>& bytes, const slice_expectation& want,
                                    float* out);

/// Encodes `h.count` gradient values as a Gradient message.
std::vector<char> encode_gradient(const gradient_header& h, const float* values,
                                  dense_format fmt);

/// Decodes a Gradient into `out` (room for `want.count` floats); refuses any mismatch,
/// and gradients holding NaN or Inf.
expected<gradient_header> decode_gradient(const std::vector<char>& bytes,
                                          const slice_expectation& want, float* out);

/// bf16 conversions (round to nearest even; NaN stays NaN).
uint16_t to_bf16(float x);
float from_bf16(uint16_t x);

} // namespace herd::messages
