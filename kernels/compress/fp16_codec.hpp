#pragma once

// fp16: each element converted to fp16 with round-to-nearest-even
// (kernels/compress/half.hpp), halving the bytes.
// Wire: data = count little-endian fp16 values (2*count bytes); indices and
// scales empty.
// Error: relative error <= 2^-11 for 2^-14 <= |g| <= 65504; absolute error
// <= 2^-25 below 2^-14 (subnormal steps of 2^-24); |g| >= 65520 decodes to
// +-inf, so an overflowing gradient stays visible to dynamic loss scaling.
// NaN and inf pass through.

#include "kernels/compress/codec.hpp"

namespace herd::kernels::compress {

class fp16_codec final : public codec {
public:
  std::string name() const override { return "fp16"; }
  codec_kind kind() const override { return codec_kind::fp16; }
  void encode(const float* g, uint32_t n, uint64_t step_seed,
              encoded& out) override;
  std::optional<std::string> validate(const encoded& e,
                                      uint32_t expected_count) const override;
  void decode(const encoded& e, float* out) const override;
};

} // namespace herd::kernels::compress
