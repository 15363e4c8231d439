// The MLP's training step on one CUDA device: model/mlp.hpp's math (same flat parameter
// layout, same op sequence) with cuBLAS GEMMs and the kernels of kernels/cuda. Owns the
// device buffers of one replica; no host memory, no synchronisation: everything is enqueued
// on the caller's stream, so a whole step can be captured in a CUDA graph (no allocation,
// no host reads inside train_step).
//
// Precision: fp32 and tf32 keep every tensor in fp32 (tf32: GEMM products on TF32 tensor
// cores). bf16/fp16 cast the GEMM operands (weights once per step, activations and deltas
// before each GEMM) to 16 bits and accumulate in fp32 - what mlp::train_step emulates on the
// CPU by rounding, except that the GPU keeps fp32 outputs (so it rounds less, not more).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "kernels/cuda/cuda_raii.hpp"
#include "kernels/cuda/gemm_cuda.hpp"
#include "model/mlp.hpp"

namespace herd::model {

class mlp_cuda {
public:
  /// Allocates on the calling thread's current device, for batches of up to max_rows.
  mlp_cuda(const mlp& net, int max_rows, kernels::gemm_type type);

  const mlp& net() const { return net_; }
  int max_rows() const { return max_rows_; }
  kernels::gemm_type type() const { return type_; }

  float* params() const { return params_.get(); }     // param_count floats
  float* grad() const { return grad_.get(); }         // param_count floats
  float* x() const { return x_.get(); }               // max_rows x inputs
  uint8_t* y() const { return y_.get(); }             // max_rows labels
  float* loss() const { return loss_.get(); }         // 1 float: the mean loss
  int* bad() const { return bad_.get(); }             // 1 int: nonzero = inf/NaN gradient

  /// Forward + backward on the first `rows` (1..max_rows) samples of x()/y(): the mean-loss
  /// gradient times grad_scale into grad() (fully overwritten), the mean loss into *loss().
  /// grad_ready(l) runs right after layer l's gradient (W_l, b_l) is enqueued, last layer
  /// first, so its copy-out can start while the lower layers compute.
  void train_step(int rows, float grad_scale, cudaStream_t s,
                  const std::function<void(size_t)>& grad_ready = {});

  /// Forward only on the first `rows` samples: *correct (device int) = correct predictions,
  /// *loss() = mean loss.
  void evaluate(int rows, int* correct, cudaStream_t s);

private:
  bool half() const;
  const void* operand(const float* src, size_t n, uint16_t* scratch, cudaStream_t s);
  void gemm(kernels::trans ta, kernels::trans tb, int m, int n, int k, const void* a, int lda,
            const void* b, int ldb, float* c, int ldc, cudaStream_t s);
  void forward(int rows, cudaStream_t s);

  const mlp& net_;
  int max_rows_;
  kernels::gemm_type type_;
  kernels::cublas_handle blas_;
  kernels::device_buffer<float> params_, grad_, x_, loss_, row_loss_;
  kernels::device_buffer<uint8_t> y_;
  kernels::device_buffer<int> bad_;
  std::vector<kernels::device_buffer<float>> acts_; // acts_[l]: output of layer l
  kernels::device_buffer<float> delta_a_, delta_b_; // ping-pong deltas (max_rows x widest)
  // Half operands (bf16/fp16 only): the weights, x, each layer's output, one delta.
  kernels::device_buffer<uint16_t> params_h_, x_h_, delta_h_;
  std::vector<kernels::device_buffer<uint16_t>> acts_h_;
};

} // namespace herd::model
