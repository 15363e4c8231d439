#pragma once

// dense_f32: the identity codec, the uncompressed baseline.
// Wire: data = count little-endian fp32 values (4*count bytes); indices and
// scales empty. decode(encode(g)) == g bit for bit (NaN/inf included).

#include "kernels/compress/codec.hpp"

namespace herd::kernels::compress {

class dense_codec final : public codec {
public:
  std::string name() const override { return "dense_f32"; }
  codec_kind kind() const override { return codec_kind::dense_f32; }
  void encode(const float* g, uint32_t n, uint64_t step_seed,
              encoded& out) override;
  std::optional<std::string> validate(const encoded& e,
                                      uint32_t expected_count) const override;
  void decode(const encoded& e, float* out) const override;
};

} // namespace herd::kernels::compress
