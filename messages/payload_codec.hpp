// The one Cap'n Proto codec: parameter slices and gradients to and from owned byte buffers.
// No capnp header leaks out of here; decoders validate everything before writing any output.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/compress/encoded.hpp"
#include "messages/errc.hpp"

namespace herd::messages {

enum class dense_format : uint8_t { f32, bf16, f16 };

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
  uint64_t data_key = 0; // where the batch lies in the data: the order a BSP round sums in
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

/// decode_slice for a receiver that converts 16-bit values itself (a GPU worker): a bf16 or
/// f16 slice has its 2-byte values copied unconverted into `out16` (room for want.count),
/// an f32 slice is decoded into `out32`; `fmt` says which. The same checks as decode_slice.
expected<slice_header> decode_slice_as_sent(const std::vector<char>& bytes,
                                            const slice_expectation& want, float* out32,
                                            uint16_t* out16, dense_format& fmt);

/// Encodes `h.count` gradient values as a Gradient message.
std::vector<char> encode_gradient(const gradient_header& h, const float* values,
                                  dense_format fmt);

/// Decodes a Gradient into `out` (room for `want.count` floats); refuses any mismatch,
/// and gradients holding NaN or Inf.
expected<gradient_header> decode_gradient(const std::vector<char>& bytes,
                                          const slice_expectation& want, float* out);

/// A dense fp32 Gradient read where it lies: `values` points at its `want.count` floats inside
/// `bytes` (valid while `bytes` is). `values` is nullptr, and the header still checked, when
/// the gradient has another encoding or `bytes` is not word-aligned; the values are not
/// checked for NaN or Inf here.
expected<gradient_header> view_dense_gradient(const std::vector<char>& bytes,
                                              const slice_expectation& want,
                                              const float*& values);

/// Encodes a compressed gradient (h.count == e.count) as a Gradient message.
std::vector<char> encode_gradient(const gradient_header& h,
                                  const kernels::compress::encoded& e);

/// Decodes the header and the encoding of any Gradient message into `out` (dense ones as
/// dense_f32 / fp16 / bf16 kinds). Checks the framing and the header only: the codec of
/// out.kind must validate `out` before it is decoded (kernels::compress::validate_and_decode).
expected<gradient_header> decode_gradient(const std::vector<char>& bytes,
                                          const slice_expectation& want,
                                          kernels::compress::encoded& out);

/// bf16 conversions (round to nearest even; NaN stays NaN).
uint16_t to_bf16(float x);
float from_bf16(uint16_t x);

} // namespace herd::messages
