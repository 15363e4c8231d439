// A multi-layer perceptron over one flat fp32 parameter vector.
// Layout: for each layer l (in -> out): W_l (out x in, row-major), then b_l (out).
// Hidden layers use ReLU; the last layer feeds softmax cross-entropy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "kernels/cpu/round_half.hpp"

namespace herd::model {

struct layer_view {
  int in = 0;
  int out = 0;
  size_t w_offset = 0; // W_l starts here in the flat vector
  size_t b_offset = 0; // b_l starts here
};

/// Scratch buffers for one batch; reused across steps so the step does not allocate.
struct mlp_workspace {
  std::vector<std::vector<float>> acts;   // acts[l]: output of layer l (rows x out_l)
  std::vector<std::vector<float>> deltas; // deltas[l]: dLoss/dz_l
  int rows = 0;
};

/// Reduced-precision compute for one step: activations, deltas and gradients are rounded to
/// `half` after every op (GEMMs accumulate in fp32 on operands that hold half values, which is
/// what a bf16/fp16 GEMM with fp32 accumulation computes; the caller rounds params and x).
/// The loss gradient is multiplied by `loss_scale` first, so the gradient comes out scaled.
struct step_options {
  std::optional<kernels::half_format> half;
  float loss_scale = 1.0f;
};

struct eval_result {
  double loss_sum = 0; // summed over rows
  int correct = 0;
  int rows = 0;
};

class mlp {
public:
  /// `layers` holds at least 2 sizes, each >= 1 (validated by config/).
  explicit mlp(std::vector<int> layers);

  size_t param_count() const { return param_count_; }
  const std::vector<layer_view>& layers() const { return views_; }
  int inputs() const { return sizes_.front(); }
  int classes() const { return sizes_.back(); }

  /// He-normal weights (std = sqrt(2/in)), zero biases; deterministic for a seed.
  void init(float* params, uint64_t seed) const;

  /// Forward + backward on `rows` samples; writes the mean-loss gradient to `grad`
  /// (param_count floats, fully overwritten) and returns the mean loss.
  float train_step(const float* params, const float* x, const uint8_t* y, int rows,
                   float* grad, mlp_workspace& ws, const step_options& opts = {}) const;

  /// Forward only: summed loss and correct predictions over `rows` samples.
  eval_result evaluate(const float* params, const float* x, const uint8_t* y, int rows,
                       mlp_workspace& ws) const;

private:
  void forward(const float* params, const float* x, int rows, mlp_workspace& ws,
               const step_options& opts = {}) const;
  void prepare(mlp_workspace& ws, int rows) const;

  std::vector<int> sizes_;
  std::vector<layer_view> views_;
  size_t param_count_ = 0;
};

} // namespace herd::model
