#include "kernels/compress/topk_candidates.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace herd::kernels::compress {

namespace {

// Magnitude order as an integer: the bits of |v| (NaN above inf).
uint32_t magnitude(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return u & 0x7fffffffu;
}

} // namespace

void topk_from_candidates(const uint32_t* idx, const float* val, uint32_t m, uint32_t k,
                          uint32_t n, encoded& out, std::vector<uint32_t>& order) {
  assert(k <= m);
  out.kind = codec_kind::topk;
  out.count = n;
  out.scales.clear();
  out.bucket = 0;
  out.levels = 0;
  out.seed = 0;
  // Positions into the candidate arrays, in index order, so ties at the threshold are taken
  // in index order as the CPU codec does.
  order.resize(m);
  for (uint32_t j = 0; j < m; ++j)
    order[j] = j;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return idx[a] < idx[b]; });
  out.indices.clear();
  if (k > 0) {
    std::vector<uint32_t> mags(m);
    for (uint32_t j = 0; j < m; ++j)
      mags[j] = magnitude(val[j]);
    std::nth_element(mags.begin(), mags.begin() + (m - k), mags.end());
    const uint32_t t = mags[m - k]; // the k-th largest magnitude
    uint32_t above = 0;
    for (uint32_t j = 0; j < m; ++j)
      above += magnitude(val[j]) > t ? 1u : 0u;
    uint32_t ties = k - above;
    for (uint32_t j : order) {
      const uint32_t mj = magnitude(val[j]);
      if (mj > t || (mj == t && ties > 0)) {
        ties -= mj == t ? 1u : 0u;
        out.indices.push_back(idx[j]);
      }
    }
  }
  out.data.resize(4 * out.indices.size());
  // Values in index order: look them up through the sorted order again.
  size_t w = 0;
  for (uint32_t j : order) {
    if (w < out.indices.size() && idx[j] == out.indices[w]) {
      std::memcpy(out.data.data() + 4 * w, &val[j], 4);
      ++w;
    }
  }
}

} // namespace herd::kernels::compress
