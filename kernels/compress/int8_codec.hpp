#pragma once

// int8: per-bucket absmax scaling with stochastic rounding.
// For bucket b (elements [b*B, min((b+1)*B, n)), B = params.bucket):
//   scale_b = max|g| / 127, code_i = floor(g_i/scale_b + u_i) with u_i
//   uniform in [0, 1) from the counter stream of step_seed (the same step
//   seed gives the same codes), clamped to [-127, 127];
//   decode g_i' = code_i * scale_b.
// Wire: data = count int8 codes (two's complement, -128 never used);
//   scales = ceil(count/B) fp32 scales; bucket = B; indices empty.
// Error: |g' - g| < scale_b = max_b|g|/127 per element, and E[g'] = g
//   (unbiased up to fp32 rounding of the scale). A bucket holding inf or NaN
//   gets a non-finite scale, which validate() rejects: an overflowed gradient
//   is refused, never decoded into finite garbage.

#include "kernels/compress/codec.hpp"

namespace herd::kernels::compress {

class int8_codec final : public codec {
public:
  explicit int8_codec(const codec_params& p);
  std::string name() const override { return "int8"; }
  codec_kind kind() const override { return codec_kind::int8; }
  void encode(const float* g, uint32_t n, uint64_t step_seed,
              encoded& out) override;
  std::optional<std::string> validate(const encoded& e,
                                      uint32_t expected_count) const override;
  void decode(const encoded& e, float* out) const override;

private:
  uint32_t bucket_;
};

} // namespace herd::kernels::compress
