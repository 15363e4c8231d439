#pragma once

// The compact, plain form of one compressed gradient slice. It carries
// everything the receiver needs to validate and decode it; the messages layer
// maps it onto the Cap'n Proto wire schema. Each codec's header documents
// which fields it uses and the layout of `data`; unused vectors are empty.
// All multi-byte values in `data` are little-endian.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace herd::kernels::compress {

enum class codec_kind : uint8_t {
  dense_f32,
  fp16,
  bf16,
  int8,
  topk,
  randk,
  qsgd,
  sign,
};

// The registry name of a kind ("dense_f32", "topk", ...); "unknown" outside
// the enum.
std::string_view kind_name(codec_kind k);

struct encoded {
  codec_kind kind = codec_kind::dense_f32;
  uint32_t count = 0;            // elements of the original slice
  std::vector<uint32_t> indices; // topk: strictly increasing, < count
  std::vector<uint8_t> data;     // packed values/codes (layout per codec)
  std::vector<float> scales;     // per-bucket scale (int8, qsgd); one (sign)
  uint32_t bucket = 0;           // bucket size (int8, qsgd)
  uint32_t levels = 0;           // qsgd levels s
  uint64_t seed = 0;             // randk: the seed the indices derive from
};

// Fixed per-message header counted by encoded_bytes (kind, count, bucket,
// levels, seed and framing).
inline constexpr size_t encoded_header_bytes = 32;

// Bytes on the wire for bandwidth accounting: the header, 4 per index, the
// data bytes and 4 per scale.
size_t encoded_bytes(const encoded& e);

// Bytes of the same slice sent as plain fp32 (header included), the
// numerator of a compression ratio.
size_t dense_bytes(uint32_t count);

} // namespace herd::kernels::compress
