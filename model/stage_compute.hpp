// The compute of one pipeline stage over the micro-batches of a minibatch, no CAF:
//
//   forward(m, x)            stores x and the stage's activations of micro-batch m, returns
//                            its output (the next stage's input; logits at the last stage)
//   loss_and_delta(m, y, w)  last stage: softmax cross-entropy of micro-batch m, its
//                            gradient scaled by w = rows_m / rows_minibatch
//   backward(m, delta)       accumulates the stage's gradient and returns the delta for the
//                            previous stage (already masked by that stage's ReLU)
//
// With w as above the accumulated gradient is the full minibatch's mean-loss gradient, the
// same as mlp::train_step on the whole minibatch (up to fp32 rounding of the sums).
//
// Reduced precision (`half`): the input, every activation, every delta and each micro-batch's
// weight and bias gradient are rounded to half after the op that makes them, as
// mlp::train_step with step_options::half (the caller rounds the parameters); the micro-batch
// gradients add up in fp32, as a framework's gradient accumulation does (with M = 1 the
// gradient is mlp::train_step's, bit for bit). Loss scaling: the caller folds the scale into
// `weight`.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "kernels/cpu/round_half.hpp"

#include "model/mlp.hpp"
#include "model/stages.hpp"

namespace herd::model {

class stage_compute {
public:
  stage_compute(std::shared_ptr<const mlp> net, stage_range range);

  /// Computes in `half` (rounding as described above) or, with none, in fp32.
  void set_half(std::optional<kernels::half_format> half) { half_ = half; }

  const stage_range& range() const { return range_; }
  bool is_last() const { return size_t(range_.end_layer) == net_->layers().size(); }

  /// Starts a minibatch: zeroes the stage's gradient. `grad` is a full-size flat vector; only
  /// the stage's range is written.
  void begin(float* grad);

  /// Forward of micro-batch `m` (rows x range().in). `params` is the full-size flat vector
  /// (only the stage's range is read). Returns rows x range().out, valid until the next
  /// forward of the same `m`.
  const std::vector<float>& forward(int m, const float* params, const float* x, int rows);

  /// Last stage: the mean loss of micro-batch `m` (forwarded before) and its delta, scaled by
  /// `weight`. Returns the unweighted mean loss.
  float loss_and_delta(int m, const uint8_t* y, float weight);

  /// Backward of micro-batch `m` from the delta of the stage's output (rows x range().out;
  /// ignored at the last stage, which uses its own from loss_and_delta). Adds the gradient to
  /// `grad`; returns the delta for the previous stage (rows x range().in), empty at stage 0.
  const std::vector<float>& backward(int m, const float* params, const float* delta,
                                     float* grad);

private:
  struct slot {
    int rows = 0;
    std::vector<float> x;                 // the input (rows x in)
    std::vector<std::vector<float>> acts; // per layer of the stage
    std::vector<float> last_delta;        // last stage: delta of the logits
  };
  slot& slot_at(int m);

  void round_if(float* x, size_t n) const;

  std::shared_ptr<const mlp> net_;
  stage_range range_;
  std::optional<kernels::half_format> half_;
  std::vector<slot> slots_;
  std::vector<float> d_cur_, d_prev_, db_, dw_;
  std::vector<float> out_delta_;
};

} // namespace herd::model
