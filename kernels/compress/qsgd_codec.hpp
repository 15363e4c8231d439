#pragma once

// qsgd: QSGD (Alistarh et al., 2017) with s levels and buckets.
// For bucket b (B = params.bucket elements) with L2 norm N_b:
//   r_i = |g_i| / N_b * s,  level_i = floor(r_i) + [u_i < r_i - floor(r_i)]
//   (u_i uniform in [0, 1) from the counter stream of step_seed), clamped to
//   s; decode g_i' = sign_i * level_i * N_b / s.
// Wire: scales = ceil(count/B) fp32 norms; bucket = B; levels = s;
//   indices empty. data = a little-endian bit stream of count codes of
//   w = 1 + bit_width(s) bits each (2 bits for s = 1, 4 bits for s = 4..7,
//   8 bits for s = 64..127): element i occupies stream bits [i*w, i*w + w),
//   stream bit j being bit j%8 of data[j/8] (code_packing.hpp); ceil(count*w/8)
//   bytes, the padding bits of the last byte 0. Within a code, bit 0 is the
//   sign (1 = negative) and bits 1..w-1 the level (0..s).
// Error: E[g'] = g (unbiased); |g' - g| < N_b / s per element; per bucket of
//   d elements E||g' - g||^2 <= min(d/s^2, sqrt(d)/s) ||g||^2 (the paper's
//   Lemma 3.1). A bucket holding inf/NaN gets a non-finite norm, which
//   validate() rejects.

#include <vector>

#include "kernels/compress/codec.hpp"

namespace herd::kernels::compress {

class qsgd_codec final : public codec {
public:
  explicit qsgd_codec(const codec_params& p);
  std::string name() const override { return "qsgd"; }
  codec_kind kind() const override { return codec_kind::qsgd; }
  void encode(const float* g, uint32_t n, uint64_t step_seed,
              encoded& out) override;
  std::optional<std::string> validate(const encoded& e,
                                      uint32_t expected_count) const override;
  void decode(const encoded& e, float* out) const override;

  // Bits per code for s levels: 1 + bit_width(s).
  static uint32_t code_bits(uint32_t levels);

private:
  uint32_t bucket_;
  uint32_t levels_;
  std::vector<uint16_t> codes_; // scratch: one code per element
};

} // namespace herd::kernels::compress
