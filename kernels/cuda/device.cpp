#include "kernels/cuda/device.hpp"

#include <cuda_runtime_api.h>

namespace herd::kernels {

int cuda_device_count() noexcept {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    // No driver / no device: the error is not sticky, clear it so later
    // cudaGetLastError() calls do not report it.
    cudaGetLastError();
    return 0;
  }
  return n;
}

} // namespace herd::kernels
