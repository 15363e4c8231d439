#pragma once

// The host half of top-k on a GPU (kernels/cuda/codecs_cuda.hpp): the device sends only the
// candidates, the elements whose magnitude lies in or above the histogram bucket that holds
// the k-th largest magnitude; this picks exactly k of them the way topk_codec's exact
// selection does (all above the k-th largest magnitude t, then those equal to t in index
// order; NaN counts as the largest) and writes the topk wire form (topk_codec.hpp).
// Candidates arrive in any order (the device appends them with atomics).
//
// Plain C++, so it is tested on machines without a GPU: fed every element of a slice it
// gives the same bytes as topk_codec::encode in exact mode.

#include <cstdint>
#include <vector>

#include "kernels/compress/encoded.hpp"

namespace herd::kernels::compress {

/// The histogram key topk selection orders magnitudes by: the top 11 bits of |g|'s bit
/// pattern (2048 buckets; NaN above +inf). Host/device neutral.
#ifdef __CUDACC__
__host__ __device__
#endif
inline uint32_t topk_bucket_key(uint32_t float_bits) {
  return (float_bits & 0x7fffffffu) >> 20;
}
inline constexpr uint32_t topk_buckets = 2048;

/// Picks k (<= m) of the m candidates (indices idx < n, values val) and fills out.
/// Scratch is reused across calls.
void topk_from_candidates(const uint32_t* idx, const float* val, uint32_t m, uint32_t k,
                          uint32_t n, encoded& out, std::vector<uint32_t>& scratch);

} // namespace herd::kernels::compress
