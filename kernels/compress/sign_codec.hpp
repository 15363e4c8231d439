#pragma once

// sign: scaled 1-bit sign compression. scale = mean |g| over the slice;
// decode g_i' = -scale where g_i < 0, +scale elsewhere (zeros decode to
// +scale). Biased: wrap in error_feedback (EF-signSGD, Karimireddy et al.).
// Wire: scales = {scale} (one fp32); data = ceil(count/8) bytes, bit i%8 of
//   data[i/8] set iff g_i < 0; the padding bits of the last byte are 0;
//   indices empty. 32x fewer value bytes than fp32.
// A slice holding inf/NaN has a non-finite scale, which validate() rejects.

#include "kernels/compress/codec.hpp"

namespace herd::kernels::compress {

class sign_codec final : public codec {
public:
  std::string name() const override { return "sign"; }
  codec_kind kind() const override { return codec_kind::sign; }
  void encode(const float* g, uint32_t n, uint64_t step_seed,
              encoded& out) override;
  std::optional<std::string> validate(const encoded& e,
                                      uint32_t expected_count) const override;
  void decode(const encoded& e, float* out) const override;
};

} // namespace herd::kernels::compress
