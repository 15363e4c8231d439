#pragma once

// HERD_CUDA_CHECK(expr): throws std::runtime_error("file:line: expr: message")
// when a CUDA runtime call fails. Library code never exits on CUDA errors.

#include <stdexcept>
#include <string>

#include <cuda_runtime_api.h>

namespace herd::kernels::detail {

inline void cuda_check(cudaError_t err, const char* expr, const char* file,
                       int line) {
  if (err == cudaSuccess)
    return;
  throw std::runtime_error(std::string(file) + ":" + std::to_string(line)
                           + ": " + expr + ": " + cudaGetErrorName(err) + ": "
                           + cudaGetErrorString(err));
}

} // namespace herd::kernels::detail

#define HERD_CUDA_CHECK(expr)                                                  \
  ::herd::kernels::detail::cuda_check((expr), #expr, __FILE__, __LINE__)
