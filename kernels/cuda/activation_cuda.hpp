#pragma once

// Dense-layer activations on the GPU: the contracts of kernels/cpu/activation.hpp on device
// pointers. Enqueued on `s`, never synchronise; a failed launch throws with file:line.
// bias_grad_cuda sums each column in float in row order (one thread per column), the same
// order as bias_grad_cpu.

struct CUstream_st;
using cudaStream_t = CUstream_st*;

namespace herd::kernels {

void bias_relu_forward_cuda(float* y, const float* bias, int rows, int cols, bool relu,
                            cudaStream_t s);
void relu_backward_cuda(float* dy, const float* y, int n, cudaStream_t s);
void bias_grad_cuda(const float* dy, int rows, int cols, float* db, cudaStream_t s);

} // namespace herd::kernels
