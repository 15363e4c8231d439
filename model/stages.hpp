// Pipeline stages: the MLP's layers cut into K consecutive groups. A stage's parameters (its
// layers' W and b) are one contiguous range of the flat vector, so shards can be given whole
// stages' ranges and a stage pulls and pushes only its own.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "model/mlp.hpp"
#include "model/slices.hpp"

namespace herd::model {

struct stage_range {
  int first_layer = 0; // layers [first_layer, end_layer) of the mlp
  int end_layer = 0;
  size_t offset = 0;   // the stage's parameters in the flat vector
  size_t count = 0;
  int in = 0;          // width of the activations it receives (inputs() for stage 0)
  int out = 0;         // width of what it sends on (classes() for the last stage)
};

struct stage_cut {
  std::vector<stage_range> stages; // empty when `error` is set
  std::string error;
};

/// Cuts `net` into `k` stages of >= 1 layer each, minimising the largest stage's parameter
/// count (exact: layers are few). An error when k < 1 or k > the number of layers.
stage_cut cut_stages(const mlp& net, int k);

/// Slices for `shards` shards such that none crosses a stage boundary: shards are given to
/// stages in proportion to the stages' sizes (at least one each, in stage order) and each
/// stage's range is partitioned among its shards. `owner[i]` is shard i's stage. Requires
/// shards >= stages.size().
std::vector<slice> stage_slices(const std::vector<stage_range>& stages, size_t shards,
                                std::vector<int>* owner = nullptr);

/// Micro-batch sizes: `rows` split into `m` parts as evenly as possible (the larger first);
/// fewer parts when rows < m (no empty micro-batch).
std::vector<int> split_rows(int rows, int m);

} // namespace herd::model
