// Cutting the flat parameter vector into contiguous slices, one per shard, balanced by size.
#pragma once

#include <cstddef>
#include <vector>

namespace herd::model {

struct slice {
  size_t offset = 0;
  size_t count = 0;
};

/// `parts` contiguous slices covering [0, n); sizes differ by at most one element.
/// Requires 1 <= parts <= n.
std::vector<slice> partition(size_t n, size_t parts);

} // namespace herd::model
