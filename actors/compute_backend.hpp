// Where a worker's forward/backward runs: the CPU (OpenBLAS on the worker's own thread) or one
// CUDA device (cuda_backend.hpp). worker_state owns the step sequence - which batch, when the
// pulled slices are final, loss scaling, what is pushed - and calls this interface; a backend
// owns the host buffers the pulls decode into and the pushes encode from, so a GPU backend
// hands out pinned memory and the CPU backend plain vectors, with no extra copy on the CPU.
//
// Step sequence, per step (worker.cpp drives it, worker_state forwards):
//   params() <- pulled slices; params_ready(offset, count) as each lands (a GPU backend
//   starts its host->device copy at once, overlapping the other pulls) ->
//   batch_x()/batch_y() <- the batch -> step(rows, options) -> grad() -> encoded and pushed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <vector>

#include "config/job_config.hpp"
#include "kernels/cpu/round_half.hpp"
#include "messages/errc.hpp"
#include "messages/payload_codec.hpp"
#include "model/mlp.hpp"
#include "model/slices.hpp"

namespace herd::actors {

struct backend_step_options {
  std::optional<kernels::half_format> half; // bf16/fp16 operands, fp32 accumulation
  float loss_scale = 1.0f; // != 1: the gradient comes out scaled, step() unscales it
};

struct backend_step_result {
  float loss = 0;
  bool finite = true; // false: the gradient holds inf/NaN (skip the step)
};

class compute_backend {
public:
  virtual ~compute_backend() = default;

  /// "cpu" or "cuda:N".
  virtual std::string device() const = 0;
  /// The full parameter vector on the host; pulled slices are decoded straight into it.
  virtual std::span<float> params() = 0;
  /// The last step's gradient on the host (param_count floats), unscaled.
  virtual std::span<const float> grad() const = 0;
  /// Host buffers for one batch: batch_size x features inputs, batch_size labels.
  virtual float* batch_x() = 0;
  virtual uint8_t* batch_y() = 0;
  /// params()[offset, offset + count) holds this step's values.
  virtual void params_ready(size_t offset, size_t count) = 0;
  /// Room for param_count 16-bit values when this backend converts bf16/fp16 pulls itself (a
  /// GPU: half the bytes cross PCIe, no conversion on the host); nullptr (the default): the
  /// caller decodes pulls into params().
  virtual uint16_t* params16() { return nullptr; }
  /// params16()[offset, offset + count) holds this step's values in format f.
  virtual void params16_ready(size_t offset, size_t count, kernels::half_format f) {
    (void)offset, (void)count, (void)f;
  }
  /// Forward + backward on the first `rows` samples of the batch buffers. Requires every
  /// slice of params() to have been reported ready since the last step.
  virtual backend_step_result step(int rows, const backend_step_options& opts) = 0;

  /// Offers to encode the pushes itself with these compression settings (a GPU backend, so
  /// that only encoded bytes leave the device). true: from now on grad() is not filled and
  /// every push goes through encode_push. false (the default): the caller encodes grad().
  virtual bool take_push_encoding(const config::compression_config& cfg,
                                  const std::vector<model::slice>& slices, uint64_t seed) {
    (void)cfg, (void)slices, (void)seed;
    return false;
  }
  /// The Gradient payload of slice h.shard of the last step's gradient; only after
  /// take_push_encoding returned true.
  virtual std::vector<char> encode_push(const messages::gradient_header& h) {
    (void)h;
    return {};
  }
  /// Error feedback's residual of the backend's own encoder, per slice (empty without error
  /// feedback); only after take_push_encoding returned true. For checkpoints.
  virtual std::vector<std::vector<float>> push_residual() const { return {}; }
  /// Continues from push_residual()'s values; false when they do not fit its encoder.
  virtual bool restore_push_residual(const std::vector<std::vector<float>>& r) {
    return r.empty();
  }
};

/// The backend for `device` ("cpu" or "cuda:N") for batches of up to batch_size rows.
/// "cuda:N" fails with one line when this build has no CUDA backend, N is not a visible
/// device, or the device cannot be set up.
expected<std::unique_ptr<compute_backend>>
make_compute_backend(const std::string& device, std::shared_ptr<const model::mlp> net,
                     int batch_size, size_t features);

/// Whether this process can run a worker on `device` (the same checks as
/// make_compute_backend without allocating anything).
caf::error check_device(const std::string& device);

} // namespace herd::actors
