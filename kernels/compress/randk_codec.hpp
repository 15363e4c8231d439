#pragma once

// randk: sends k = sparse_count(density, n) elements at positions drawn
// uniformly without replacement from a seed, scaled by n/k so that the
// decoded slice is an unbiased estimate of g.
// Wire: seed = the step seed the positions derive from; data = k fp32 values
//   g_i * (n/k), little-endian, in ascending position order; indices and
//   scales empty (the receiver derives the positions: randk_indices(seed,
//   count, data.size()/4)). Self-describing: k (>= 1 when count >= 1) comes
//   from the data size.
// Error: E[g'] = g over seeds; each element is sent with probability k/n.
//   The n/k scaling makes it a poor fit for error_feedback (the residual
//   grows by the scale): use topk there.

#include <vector>

#include "kernels/compress/codec.hpp"

namespace herd::kernels::compress {

// The k distinct positions in [0, n) for `seed`, ascending: Floyd's sampling
// (uniform over k-subsets) on a bitmap, O(k + n/64).
void randk_indices(uint64_t seed, uint32_t n, uint32_t k,
                   std::vector<uint32_t>& out);

class randk_codec final : public codec {
public:
  explicit randk_codec(const codec_params& p);
  std::string name() const override { return "randk"; }
  codec_kind kind() const override { return codec_kind::randk; }
  void encode(const float* g, uint32_t n, uint64_t step_seed,
              encoded& out) override;
  std::optional<std::string> validate(const encoded& e,
                                      uint32_t expected_count) const override;
  void decode(const encoded& e, float* out) const override;
  void set_density(double density) override { density_ = density; }

private:
  double density_;
  std::vector<uint32_t> idx_; // scratch
};

} // namespace herd::kernels::compress
