#include "model/slices.hpp"

#include <cassert>

namespace herd::model {

std::vector<slice> partition(size_t n, size_t parts) {
  assert(parts >= 1 && parts <= n);
  std::vector<slice> out;
  out.reserve(parts);
  size_t base = n / parts;
  size_t extra = n % parts;
  size_t offset = 0;
  for (size_t i = 0; i < parts; ++i) {
    size_t count = base + (i < extra ? 1 : 0);
    out.push_back({offset, count});
    offset += count;
  }
  return out;
}

} // namespace herd::model
