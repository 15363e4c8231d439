// The CUDA compute backend: one device, one compute stream plus one copy stream, pinned host
// buffers for the pulled parameters, the batch and the gradient, and the step captured in a
// CUDA graph while its shape is static.
//
//   params_ready(slice)  --H2D on the compute stream, as each pulled slice lands-->
//   (bf16/fp16 pulls: params16_ready: H2D of the 2-byte values, converted on the device)
//   step: H2D batch -> [graph: forward/backward; per layer, last first: event -> D2H of that
//         layer's gradient on the copy stream while lower layers compute; inf/NaN check;
//         D2H loss + flag; join] -> wait -> loss, finite
// Under fp16 loss scaling the gradient is unscaled on the device before it is copied, so the
// per-layer overlap is off there (one D2H after the unscale). With a compressing codec the
// gradient does not come down at all: cuda_push_encoder encodes each slice on the device.
// The graph is captured at the second full batch of a key (rows, loss scale, precision), the
// first running eagerly as a warm-up, and re-captured the same way when the key changes; a
// short last batch of a chunk runs eagerly. A capture the driver refuses turns graphs off
// (graph_error() says why) and the steps run eagerly.
// Built only with HERD_WITH_CUDA; made through make_compute_backend.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/compute_backend.hpp"
#include "actors/cuda_push_encoder.hpp"
#include "kernels/cuda/cuda_raii.hpp"
#include "model/mlp_cuda.hpp"

struct CUgraphExec_st;

namespace herd::actors {

struct cuda_backend_options {
  bool graphs = true;   // capture the step in a CUDA graph when the batch is full
  bool overlap = true;  // copy each layer's gradient out while the lower layers compute
  kernels::gemm_type fp32_gemm = kernels::gemm_type::fp32; // or tf32
};

class cuda_backend final : public compute_backend {
public:
  /// Throws std::runtime_error (file:line) when the device cannot be set up.
  cuda_backend(int ordinal, std::shared_ptr<const model::mlp> net, int batch_size,
               size_t features, cuda_backend_options opts = {});
  ~cuda_backend() override;

  std::string device() const override { return "cuda:" + std::to_string(ordinal_); }
  std::span<float> params() override { return {params_h_.get(), params_h_.size()}; }
  std::span<const float> grad() const override { return {grad_h_.get(), grad_h_.size()}; }
  float* batch_x() override { return x_h_.get(); }
  uint8_t* batch_y() override { return y_h_.get(); }
  void params_ready(size_t offset, size_t count) override;
  uint16_t* params16() override;
  void params16_ready(size_t offset, size_t count, kernels::half_format f) override;
  backend_step_result step(int rows, const backend_step_options& opts) override;
  bool take_push_encoding(const config::compression_config& cfg,
                          const std::vector<model::slice>& slices,
                          uint64_t seed) override;
  std::vector<char> encode_push(const messages::gradient_header& h) override;
  std::vector<std::vector<float>> push_residual() const override;
  bool restore_push_residual(const std::vector<std::vector<float>>& r) override;

  /// Steps that ran as a graph launch, and graphs captured (for tests and benchmarks).
  uint64_t graph_launches() const { return graph_launches_; }
  uint64_t graph_captures() const { return graph_captures_; }
  /// Why graphs were turned off ("" while they are not).
  const std::string& graph_error() const { return graph_error_; }

private:
  struct graph_key {
    int rows = 0;
    float scale = 0;
    kernels::gemm_type type = kernels::gemm_type::fp32;
    bool operator==(const graph_key&) const = default;
  };
  void enqueue_step(int rows, float scale);
  bool capture(int rows, float scale);
  void drop_graph();

  int ordinal_;
  std::shared_ptr<const model::mlp> net_;
  int batch_size_;
  size_t features_;
  cuda_backend_options opts_;
  kernels::cuda_stream stream_, copy_stream_;
  std::vector<kernels::cuda_event> layer_done_;
  kernels::cuda_event copies_done_;
  kernels::pinned_buffer<float> params_h_, grad_h_, x_h_, loss_h_;
  kernels::pinned_buffer<uint8_t> y_h_;
  kernels::pinned_buffer<uint16_t> params16_h_; // 16-bit pulls, made at the first one
  kernels::device_buffer<uint16_t> params16_d_;
  kernels::pinned_buffer<int> bad_h_;
  std::unique_ptr<model::mlp_cuda> replica_;
  std::unique_ptr<cuda_push_encoder> pusher_; // set: pushes encoded on the device, no grad D2H
  CUgraphExec_st* graph_ = nullptr;
  std::optional<graph_key> graph_key_; // what graph_ was captured for
  std::optional<graph_key> warmed_;    // the key whose eager warm-up step has run
  std::string graph_error_;
  uint64_t graph_launches_ = 0;
  uint64_t graph_captures_ = 0;
};

} // namespace herd::actors
