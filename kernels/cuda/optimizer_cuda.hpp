#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/optimizer_params.hpp"

// Same type as cuda_runtime_api.h's cudaStream_t, without pulling CUDA
// headers into C++ users.
struct CUstream_st;
using cudaStream_t = CUstream_st*;

// Optimizer updates on the GPU; same contracts as kernels/cpu/optimizer.hpp
// (same per-element math, kernels/optimizer_math.hpp). w, m, v, g are device
// pointers to n floats that must not overlap. The launchers enqueue on stream
// s and return without synchronising; a launch failure throws
// std::runtime_error (file:line). Errors of the kernel's execution surface
// on the next synchronising call.

namespace herd::kernels {

void sgd_update_cuda(float* w, float* m, const float* g, size_t n,
                     const sgd_params& p, cudaStream_t s);

void adam_update_cuda(float* w, float* m, float* v, const float* g, size_t n,
                      const adam_params& p, int64_t step, cudaStream_t s);

} // namespace herd::kernels
