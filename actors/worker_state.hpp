// A worker's logic: a model replica over the full flat parameter vector (assembled from the
// shards' slices), the data chunk it is working through, and one training step.
// No CAF here; the worker actor (worker.hpp) moves messages in and out.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "data/dataset.hpp"
#include "kernels/loss_scaler.hpp"
#include "messages/types.hpp"
#include "model/mlp.hpp"
#include "model/slices.hpp"

namespace herd::actors {

class worker_state {
public:
  worker_state(uint32_t id, std::shared_ptr<const model::mlp> net,
               std::shared_ptr<const data::dataset> train, std::vector<model::slice> slices,
               int batch_size);

  uint32_t id() const { return id_; }
  uint64_t clock() const { return clock_; }
  void set_clock(uint64_t c) { clock_ = c; }
  void advance() { ++clock_; }
  const std::vector<model::slice>& slices() const { return slices_; }

  /// The full parameter vector; pulled slices are decoded straight into it.
  std::vector<float>& params() { return params_; }
  const std::vector<float>& grad() const { return grad_; }

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

  /// Computes fp32 steps with `fn` (params, x, y, rows, grad) -> mean loss instead of the
  /// model's own train_step: tensor-parallel ranks (actors/tensor_group.hpp).
  using step_fn = std::function<float(const float*, const float*, const uint8_t*, int, float*)>;
  void set_step(step_fn fn) { step_ = std::move(fn); }

  /// One step on the next batch of the current chunk: gradient into grad(), and the mean loss.
  /// Requires has_batch(); the clock advances with advance() once the gradient is pushed.
  step_result compute_step();
  uint32_t last_samples() const { return last_samples_; }

private:
  uint32_t id_;
  std::shared_ptr<const model::mlp> net_;
  std::shared_ptr<const data::dataset> train_;
  std::vector<model::slice> slices_;
  int batch_size_;
  uint64_t clock_ = 0;
  std::vector<float> params_;
  std::vector<float> grad_;
  messages::data_chunk chunk_;
  size_t pos_ = 0;
  bool chunk_open_ = false;
  std::vector<float> x_;
  std::vector<uint8_t> y_;
  model::mlp_workspace ws_;
  std::optional<kernels::half_format> half_;
  std::vector<float> half_params_; // params rounded to the compute format
  kernels::loss_scaler scaler_;
  uint32_t last_samples_ = 0;
  step_fn step_;
};

} // namespace herd::actors
