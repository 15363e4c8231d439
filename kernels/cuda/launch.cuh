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

// Sums part[0..blockDim.x) into part[0] (blockDim.x a power of two); every thread of the block
// must call it, after writing its own part[threadIdx.x]. Ends with the block synchronised.
__device__ inline double block_sum(double* part) {
  __syncthreads();
  for (unsigned w = blockDim.x / 2; w > 0; w /= 2) {
    if (threadIdx.x < w)
      part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  return part[0];
}

} // namespace herd::kernels::detail
