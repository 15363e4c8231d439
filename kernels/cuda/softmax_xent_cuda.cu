#include "kernels/cuda/softmax_xent_cuda.hpp"

#include <cuda_runtime.h>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/launch.cuh"

namespace herd::kernels {

namespace {

using detail::block_threads;
using detail::grid_for;

__global__ void xent_rows_kernel(const float* logits, const uint8_t* __restrict__ labels,
                                 int rows, int classes, float* dlogits, float grad_scale,
                                 float* __restrict__ row_loss) {
  const float scale = grad_scale / static_cast<float>(rows);
  HERD_GRID_STRIDE(r, size_t(rows)) {
    const float* x = logits + r * classes;
    const int label = labels[r];
    float mx = x[0];
    for (int c = 1; c < classes; ++c)
      mx = x[c] > mx ? x[c] : mx;
    const float shifted_label = x[label] - mx;
    float* d = dlogits ? dlogits + r * classes : nullptr;
    float sum = 0.0f;
    for (int c = 0; c < classes; ++c) {
      float e = expf(x[c] - mx);
      if (d)
        d[c] = e;
      sum += e;
    }
    row_loss[r] = logf(sum) - shifted_label;
    if (d) {
      const float inv_sum = 1.0f / sum;
      for (int c = 0; c < classes; ++c)
        d[c] = (d[c] * inv_sum - (c == label ? 1.0f : 0.0f)) * scale;
    }
  }
}

// One block: each thread sums a strided subset in double, then a tree in shared memory.
__global__ void mean_kernel(const float* __restrict__ v, int n, float* __restrict__ out) {
  __shared__ double part[block_threads];
  double acc = 0.0;
  for (int i = threadIdx.x; i < n; i += blockDim.x)
    acc += double(v[i]);
  part[threadIdx.x] = acc;
  detail::block_sum(part);
  if (threadIdx.x == 0)
    *out = static_cast<float>(part[0] / n);
}

__global__ void correct_kernel(const float* __restrict__ logits,
                               const uint8_t* __restrict__ labels, int rows, int classes,
                               int* __restrict__ correct) {
  HERD_GRID_STRIDE(r, size_t(rows)) {
    const float* x = logits + r * classes;
    int best = 0;
    for (int c = 1; c < classes; ++c)
      if (x[c] > x[best])
        best = c;
    if (best == labels[r])
      atomicAdd(correct, 1);
  }
}

} // namespace

void softmax_xent_cuda(const float* logits, const uint8_t* labels, int rows, int classes,
                       float* dlogits, float grad_scale, float* row_loss, float* loss,
                       cudaStream_t s) {
  xent_rows_kernel<<<grid_for(size_t(rows)), block_threads, 0, s>>>(
    logits, labels, rows, classes, dlogits, grad_scale, row_loss);
  HERD_CUDA_CHECK(cudaGetLastError());
  mean_kernel<<<1, block_threads, 0, s>>>(row_loss, rows, loss);
  HERD_CUDA_CHECK(cudaGetLastError());
}

void count_correct_cuda(const float* logits, const uint8_t* labels, int rows, int classes,
                        int* correct, cudaStream_t s) {
  HERD_CUDA_CHECK(cudaMemsetAsync(correct, 0, sizeof(int), s));
  if (rows <= 0)
    return;
  correct_kernel<<<grid_for(size_t(rows)), block_threads, 0, s>>>(logits, labels, rows,
                                                                  classes, correct);
  HERD_CUDA_CHECK(cudaGetLastError());
}

} // namespace herd::kernels
