// A worker's logic: a model replica over the full flat parameter vector (assembled from the
// shards' slices), the data chunk it is working through, and one training step, computed
// through a compute_backend (the CPU, or one CUDA device: compute_backend.hpp).
// No CAF here; the worker actor (worker.hpp) moves messages in and out.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "actors/compute_backend.hpp"

#include "data/dataset.hpp"
#include "kernels/loss_scaler.hpp"
#include "messages/specs.hpp"
#include "messages/types.hpp"
#include "model/mlp.hpp"
#include "model/slices.hpp"

namespace herd::actors {

class worker_state {
public:
  /// On the CPU backend.
  worker_state(uint32_t id, std::shared_ptr<const model::mlp> net,
               std::shared_ptr<const data::dataset> train, std::vector<model::slice> slices,
               int batch_size);
  /// On `backend`, made for this net, batch size and the data's features.
  worker_state(uint32_t id, std::shared_ptr<const model::mlp> net,
               std::shared_ptr<const data::dataset> train, std::vector<model::slice> slices,
               int batch_size, std::unique_ptr<compute_backend> backend);

  uint32_t id() const { return id_; }
  uint64_t clock() const { return clock_; }
  void set_clock(uint64_t c) { clock_ = c; }
  void advance() { ++clock_; }
  const std::vector<model::slice>& slices() const { return slices_; }

  /// The full parameter vector (the backend's host buffer); pulled slices are decoded
  /// straight into it, then reported with slice_pulled.
  std::span<float> params() { return backend_->params(); }
  /// Slice i of params() holds this step's values (a GPU backend starts copying it); with
  /// `as16`, slice i of params16() holds them in that format instead.
  void slice_pulled(size_t i, std::optional<kernels::half_format> as16 = {});
  /// Where 16-bit pulls go unconverted: the backend's buffer when it converts them itself
  /// and the job pulls bf16/fp16 (set_pull_16bit); nullptr: decode into params().
  uint16_t* params16() { return pull_16bit_ ? backend_->params16() : nullptr; }
  void set_pull_16bit(bool on) { pull_16bit_ = on; }
  std::span<const float> grad() const { return backend_->grad(); }
  /// Lets the backend encode pushes itself when it can (a GPU: only encoded bytes cross
  /// PCIe); then grad() is not filled and pushes come from encode_push.
  void offer_push_encoding(const config::compression_config& cfg, uint64_t seed);
  bool pushes_from_backend() const { return pushes_from_backend_; }
  std::vector<char> encode_push(const messages::gradient_header& h) {
    return backend_->encode_push(h);
  }
  const compute_backend& backend() const { return *backend_; }

  /// Whether a batch is left in the current chunk.
  bool has_batch() const { return pos_ < chunk_.indices.size(); }
  /// Id of the chunk just used up, if any (to report it done), and forgets it.
  bool take_finished_chunk(uint64_t& id);
  /// Starts working through `c` (from batch position `pos`, when resuming).
  void set_chunk(messages::data_chunk c, size_t pos = 0);
  /// The chunk being worked through and the position in it (for checkpoints).
  bool chunk_open() const { return chunk_open_; }
  const messages::data_chunk& chunk() const { return chunk_; }
  size_t position() const { return pos_; }

  struct step_result {
    float loss = 0;
    // A gradient holding inf/NaN (fp16 overflow, a bad sample, divergence): push nothing for
    // this step; the clock still advances. Under fp16 the loss scale was halved.
    bool skipped = false;
  };

  /// Computes in bf16 or fp16 (fp32 accumulation; fp16 with dynamic loss scaling) from now on.
  void set_precision(std::optional<kernels::half_format> half);
  float loss_scale() const { return scaler_.scale(); }

  /// What carries to the next step besides the parameters (for a checkpoint): the fp16 loss
  /// scaler and, when the backend encodes the pushes, its error-feedback residual. (The host
  /// encoder's state is the worker actor's: gradient_encoder::save.)
  void save(messages::carried_state& out) const;
  /// Continues from a save(); refuses a residual that does not fit the backend's encoder.
  caf::error restore(const messages::carried_state& in);

  /// One step on the next batch of the current chunk: gradient into grad(), and the mean loss.
  /// Requires has_batch(); the clock advances with advance() once the gradient is pushed.
  step_result compute_step();
  uint32_t last_samples() const { return last_samples_; }
  /// Where the last step's batch lies in the data: chunk id << 32 | its first row's position
  /// in the chunk. Shards sum a BSP round's gradients in this order (messages::gradient_header).
  uint64_t last_data_key() const { return last_data_key_; }

private:
  uint32_t id_;
  std::shared_ptr<const model::mlp> net_;
  std::shared_ptr<const data::dataset> train_;
  std::vector<model::slice> slices_;
  int batch_size_;
  std::unique_ptr<compute_backend> backend_;
  bool pushes_from_backend_ = false;
  bool pull_16bit_ = false;
  uint64_t clock_ = 0;
  messages::data_chunk chunk_;
  size_t pos_ = 0;
  bool chunk_open_ = false;
  std::optional<kernels::half_format> half_;
  kernels::loss_scaler scaler_;
  uint32_t last_samples_ = 0;
  uint64_t last_data_key_ = 0;
};

} // namespace herd::actors
