#pragma once

// topk: sends the k = sparse_count(density, n) elements of largest magnitude
// (NaN counts as the largest, so a NaN gradient is always sent and seen).
// Wire: indices = the sent positions, strictly increasing; data = their fp32
//   values, little-endian, in index order (4 bytes per index); scales empty.
//   Self-describing: the receiver takes k (>= 1 when count >= 1) from
//   indices.size().
// Decode: the sent values at their positions, 0 elsewhere (biased; wrap in
//   error_feedback or use momentum_correction).
//
// Selection:
// - exact (default): the k-th largest magnitude t is found by a 2048-bucket
//   histogram of the magnitudes' top bits and nth_element within the bucket
//   that holds it; all elements above t are sent, and elements equal to t in
//   index order until k are sent. Exactly k, O(n), three streaming passes.
// - sampled (params.topk_sampled): t is estimated as the matching order
//   statistic of m = max(topk_sample_min, topk_sample_hits * n / k) magnitudes
//   drawn (with replacement) from the counter stream of step_seed, and every
//   element with |g| >= t is sent. The count c is about k (relative spread
//   about 1/sqrt(topk_sample_hits), ~9%) and always within [ceil(k/2), 2k]:
//   above 2k the candidates are cut to exactly k by exact selection among
//   them; below k/2 the exact path runs. Whatever c is, the sent set is
//   exactly the c largest magnitudes. When m >= n/2 sampling saves nothing
//   and the exact path runs.

#include <vector>

#include "kernels/compress/codec.hpp"

namespace herd::kernels::compress {

inline constexpr uint32_t topk_sample_hits = 128;
inline constexpr uint32_t topk_sample_min = 4096;

class topk_codec final : public codec {
public:
  explicit topk_codec(const codec_params& p);
  std::string name() const override { return "topk"; }
  codec_kind kind() const override { return codec_kind::topk; }
  void encode(const float* g, uint32_t n, uint64_t step_seed,
              encoded& out) override;
  std::optional<std::string> validate(const encoded& e,
                                      uint32_t expected_count) const override;
  void decode(const encoded& e, float* out) const override;
  void set_density(double density) override { density_ = density; }

  bool sampled() const { return sampled_; }

private:
  // Fills idx with the positions of exactly k largest magnitudes among
  // `cand` (all of 0..n-1 when cand is null), ascending.
  void select_exact(const float* g, const uint32_t* cand, uint32_t m,
                    uint32_t k, std::vector<uint32_t>& idx);
  // The sampled threshold path; false when it fell back (idx unspecified).
  bool select_sampled(const float* g, uint32_t n, uint32_t k,
                      uint64_t step_seed, std::vector<uint32_t>& idx);

  double density_;
  bool sampled_;
  // Scratch.
  std::vector<uint32_t> hist_;
  std::vector<uint32_t> keys_;
  std::vector<uint32_t> cand_;
};

} // namespace herd::kernels::compress
