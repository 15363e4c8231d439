#pragma once

// sign: scaled 1-bit sign compression, one scale per bucket of B elements:
// scale_b = mean |g| over bucket b; decode g_i' = -scale_b where g_i < 0,
// +scale_b elsewhere (zeros decode to +scale). Biased: wrap in
// error_feedback (EF-signSGD, Karimireddy et al., which scales per layer:
// buckets keep a slice that spans layers of different gradient sizes from
// sharing one scale). B >= count gives one scale for the whole slice.
// Wire: bucket = B; scales = ceil(count/B) fp32; data = ceil(count/8) bytes,
//   bit i%8 of data[i/8] set iff g_i < 0; the padding bits of the last byte
//   are 0; indices empty. 1 + 32/B bits per element (B = 512: 30.1x).
// A bucket holding inf/NaN has a non-finite scale, which validate() rejects.

#include "kernels/compress/codec.hpp"
#include "kernels/compress/codec_params.hpp"

namespace herd::kernels::compress {

class sign_codec final : public codec {
public:
  explicit sign_codec(const codec_params& p = {});
  std::string name() const override { return "sign"; }
  codec_kind kind() const override { return codec_kind::sign; }
  void encode(const float* g, uint32_t n, uint64_t step_seed,
              encoded& out) override;
  std::optional<std::string> validate(const encoded& e,
                                      uint32_t expected_count) const override;
  void decode(const encoded& e, float* out) const override;

private:
  uint32_t bucket_;
};

} // namespace herd::kernels::compress
