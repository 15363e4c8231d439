#pragma once

// Softmax cross-entropy on the GPU: the contract of kernels/cpu/softmax_xent.hpp on device
// pointers, with results left on the device so a whole step can be captured in a CUDA graph.
//
// softmax_xent_cuda: *loss (device, 1 float) = mean over rows of -log softmax(logits[r])[label];
//   if dlogits != nullptr it receives grad_scale * (softmax - onehot) / rows (grad_scale is the
//   fp16 loss scale, 1 otherwise). dlogits may equal logits. row_loss is device scratch of
//   `rows` floats. Per-row math in float as on the CPU (one thread per row), the batch mean
//   summed in double in row order, so the result matches softmax_xent_cpu to rounding.
// count_correct_cuda: *correct (device int) = rows whose argmax (first on ties) is the label.
// labels: device uint8; rows >= 1, classes >= 1, labels[r] < classes.

#include <cstdint>

struct CUstream_st;
using cudaStream_t = CUstream_st*;

namespace herd::kernels {

void softmax_xent_cuda(const float* logits, const uint8_t* labels, int rows, int classes,
                       float* dlogits, float grad_scale, float* row_loss, float* loss,
                       cudaStream_t s);

void count_correct_cuda(const float* logits, const uint8_t* labels, int rows, int classes,
                        int* correct, cudaStream_t s);

} // namespace herd::kernels
