#pragma once

// Shared launch geometry for the elementwise kernels in kernels/cuda (nvcc only).

#include <algorithm>
#include <cstddef>

namespace herd::kernels::detail {

constexpr unsigned block_threads = 256;
// Grid-stride loops: enough blocks to fill an H100/H200, no more.
constexpr size_t max_grid = 4096;

inline unsigned grid_for(size_t n) {
  return static_cast<unsigned>(
    std::max<size_t>(1, std::min((n + block_threads - 1) / block_threads, max_grid)));
}

#define HERD_GRID_STRIDE(i, n)                                                   \
  for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);        \
       i += size_t(gridDim.x) * blockDim.x)

} // namespace herd::kernels::detail
