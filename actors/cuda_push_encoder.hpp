// The push side of a GPU worker: each slice of the gradient is encoded on the device, so only
// the encoded bytes cross PCIe (for top-k at 1% density: about 2% of the fp32 bytes). Same
// codecs, seeds and error feedback as gradient_encoder, the same wire bytes:
//   fp16, bf16   device cast, D2H of 2 bytes per element
//   int8, sign   device codes and scales, D2H of those
//   qsgd         device norms (summed in the CPU's order) and packed codes, D2H of those
//   randk        device positions (Floyd's sampling from the same draws) and values, D2H of
//                the values only (the receiver derives the positions from the seed)
//   topk         device threshold selection (histogram) -> D2H of the candidates -> the exact
//                k on the host (compress::topk_from_candidates); always the exact selection
//                (compression.sampled only changes the host path)
// Error feedback keeps the residual on the device (kernels/cuda/feedback_cuda.hpp). Momentum
// correction is not supported here: supports() says so and the worker encodes on the host.
// Built only with HERD_WITH_CUDA.
#pragma once

#include <cstdint>
#include <vector>

#include "config/job_config.hpp"
#include "kernels/compress/encoded.hpp"
#include "kernels/cpu/round_half.hpp"
#include "kernels/cuda/cuda_raii.hpp"
#include "messages/payload_codec.hpp"
#include "model/slices.hpp"

namespace herd::actors {

class cuda_push_encoder {
public:
  /// Whether these settings can be encoded on the device.
  static bool supports(const config::compression_config& c);

  /// Allocates on the current device. Requires supports(cfg).
  cuda_push_encoder(const config::compression_config& cfg, std::vector<model::slice> slices,
                    uint64_t seed);

  /// The Gradient payload of slice h.shard of the device gradient `grad` (param_count floats)
  /// at step h.clock; work is enqueued on s after what is already there (the step), and the
  /// call waits for the bytes it needs.
  std::vector<char> encode(const messages::gradient_header& h, const float* grad,
                           cudaStream_t s);

  /// Error feedback's residual per slice, copied down after what is queued on s (empty
  /// without error feedback). For checkpoints.
  std::vector<std::vector<float>> residual(cudaStream_t s) const;
  /// Copies a residual() back up; an empty one changes nothing (none was kept, as the host's
  /// gradient_encoder::restore); false (nothing changed) when it does not fit the slices.
  bool restore_residual(const std::vector<std::vector<float>>& r, cudaStream_t s);

private:
  void copy_down(void* host, const void* dev, size_t bytes, cudaStream_t s);
  /// topk, randk: the density at step `clock` (the warm-up, as gradient_encoder).
  double density_at(uint64_t clock) const;

  config::compression_config cfg_;
  std::vector<model::slice> slices_;
  uint64_t seed_;
  kernels::half_format half_ = kernels::half_format::fp16;
  std::vector<kernels::device_buffer<float>> residual_; // per slice, with error feedback
  // Scratch for the largest slice.
  kernels::device_buffer<uint8_t> codes_;   // int8 codes, sign bits, qsgd stream, half values
  kernels::device_buffer<float> scales_;
  kernels::device_buffer<uint32_t> hist_, cand_idx_, count_; // cand_*: topk; randk's idx, val
  kernels::device_buffer<float> cand_val_;
  kernels::device_buffer<uint8_t> randk_work_;
  kernels::pinned_buffer<uint32_t> count_h_;
  kernels::compress::encoded out_;
  std::vector<uint32_t> idx_h_, scratch_;
  std::vector<float> val_h_;
};

} // namespace herd::actors
