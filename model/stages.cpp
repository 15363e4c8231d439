#include "model/stages.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

namespace herd::model {

stage_cut cut_stages(const mlp& net, int k) {
  const auto& layers = net.layers();
  int n = static_cast<int>(layers.size());
  stage_cut cut;
  if (k < 1 || k > n) {
    cut.error = "pipeline_stages is " + std::to_string(k) + " but the model has "
                + std::to_string(n) + " layer(s): each stage needs at least one layer";
    return cut;
  }
  // prefix[i]: parameters of layers [0, i)
  std::vector<size_t> prefix(n + 1, 0);
  for (int i = 0; i < n; ++i)
    prefix[i + 1] = prefix[i] + size_t(layers[i].in) * layers[i].out + layers[i].out;
  // best[s][i]: smallest possible largest stage when layers [0, i) form s stages.
  constexpr size_t inf = std::numeric_limits<size_t>::max();
  std::vector<std::vector<size_t>> best(k + 1, std::vector<size_t>(n + 1, inf));
  std::vector<std::vector<int>> from(k + 1, std::vector<int>(n + 1, 0));
  best[0][0] = 0;
  for (int s = 1; s <= k; ++s)
    for (int i = s; i <= n; ++i)
      for (int j = s - 1; j < i; ++j) {
        if (best[s - 1][j] == inf)
          continue;
        size_t v = std::max(best[s - 1][j], prefix[i] - prefix[j]);
        if (v < best[s][i]) {
          best[s][i] = v;
          from[s][i] = j;
        }
      }
  std::vector<int> ends(k + 1, 0);
  ends[k] = n;
  for (int s = k; s > 0; --s)
    ends[s - 1] = from[s][ends[s]];
  for (int s = 0; s < k; ++s) {
    stage_range r;
    r.first_layer = ends[s];
    r.end_layer = ends[s + 1];
    r.offset = layers[r.first_layer].w_offset;
    r.count = prefix[r.end_layer] - prefix[r.first_layer];
    r.in = layers[r.first_layer].in;
    r.out = layers[r.end_layer - 1].out;
    cut.stages.push_back(r);
  }
  return cut;
}

std::vector<slice> stage_slices(const std::vector<stage_range>& stages, size_t shards,
                                std::vector<int>* owner) {
  assert(!stages.empty() && shards >= stages.size());
  // One shard each, then the rest one at a time to the stage with the most parameters per
  // shard (largest remainder, deterministic).
  std::vector<size_t> given(stages.size(), 1);
  for (size_t extra = shards - stages.size(); extra > 0; --extra) {
    size_t pick = 0;
    for (size_t s = 1; s < stages.size(); ++s)
      if (stages[s].count * given[pick] > stages[pick].count * given[s])
        pick = s;
    ++given[pick];
  }
  std::vector<slice> out;
  if (owner)
    owner->clear();
  for (size_t s = 0; s < stages.size(); ++s) {
    for (auto p : partition(stages[s].count, given[s])) {
      out.push_back({stages[s].offset + p.offset, p.count});
      if (owner)
        owner->push_back(int(s));
    }
  }
  return out;
}

std::vector<int> split_rows(int rows, int m) {
  m = std::max(1, std::min(m, rows));
  std::vector<int> out;
  for (int i = 0; i < m; ++i)
    out.push_back(rows / m + (i < rows % m ? 1 : 0));
  return out;
}

} // namespace herd::model
