#pragma once

// bf16: each element converted to bf16 with round-to-nearest-even
// (kernels/compress/half.hpp), halving the bytes.
// Wire: data = count little-endian bf16 values (2*count bytes); indices and
// scales empty.
// Error: relative error <= 2^-8 for normal floats (8 significant bits),
// absolute error <= 2^-134 among fp32 subnormals; the range is fp32's, so only
// values rounding past FLT_MAX become +-inf. NaN and inf pass through.

#include "kernels/compress/codec.hpp"

namespace herd::kernels::compress {

class bf16_codec final : public codec {
public:
  std::string name() const override { return "bf16"; }
  codec_kind kind() const override { return codec_kind::bf16; }
  void encode(const float* g, uint32_t n, uint64_t step_seed,
              encoded& out) override;
  std::optional<std::string> validate(const encoded& e,
                                      uint32_t expected_count) const override;
  void decode(const encoded& e, float* out) const override;
};

} // namespace herd::kernels::compress
