// One rank of a Megatron-style tensor-parallel MLP step (docs/parallelism.md), without CAF.
//
// Layers are taken in pairs: the first of a pair is split by its output neurons (rows of W,
// "column-parallel"), the second by its inputs (columns of W, "row-parallel"), so a pair needs
// one all-reduce forward (the second layer's partial sums) and one backward (the partial
// delta into the pair's input; not for the first pair). With an odd layer count the last
// (output) layer is computed whole on every rank. Every rank holds the full input batch and the
// full parameter vector and writes its own disjoint part of the gradient; parts every rank
// computes alike (row-parallel biases, the whole last layer) are written by rank 0 only.
//
// Use: p = begin(in); while (p) p = resume(sum over all ranks, in rank order, of their p).
// All ranks see the same sums, so all follow the same path and agree on the loss.
//
// Reduced precision (in.opts.half): each rank rounds what mlp::train_step rounds, at the same
// points: its activations and deltas after bias/ReLU, its gradient parts, the loss gradient
// after the loss scale. Partial sums cross the all-reduce in fp32 and are rounded after the
// sum, as mlp rounds a whole GEMM's output once. So the one difference from the unsplit model
// is the fp32 summation order of a row-parallel layer's K (T partial GEMMs, then T-1 adds):
// a few fp32 ulps before rounding, which now and then moves an element across a rounding
// boundary (one ulp: up to 2^-7 relative in bf16, 2^-10 in fp16) and propagates from there.
// T = 1 is bit-identical to mlp::train_step (tests/model/tensor_rank_test.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "model/mlp.hpp"
#include "model/slices.hpp"

namespace herd::model {

struct tensor_step_inputs {
  const float* params = nullptr; // full flat vector
  const float* x = nullptr;      // rows x inputs
  const uint8_t* y = nullptr;    // rows labels
  int rows = 0;
  float* grad = nullptr;         // full flat vector; this rank writes its parts only
  step_options opts;             // as mlp::train_step's; the caller rounds params and x
};

class tensor_rank {
public:
  /// Requires 1 <= ranks <= the narrowest split layer's width, rank < ranks.
  tensor_rank(std::shared_ptr<const mlp> net, int rank, int ranks);

  int rank() const { return rank_; }
  /// Collectives (all-reduces) in one step: pairs forward + pairs - 1 backward.
  int collectives() const { return 2 * pairs_ - 1; }

  /// Starts a step; returns this rank's contribution to the first all-reduce.
  const std::vector<float>* begin(const tensor_step_inputs& in);
  /// The all-reduced sum of the current collective (same length as the contribution);
  /// returns the next contribution, or nullptr once this rank's step is done.
  const std::vector<float>* resume(const float* sum);

  /// The step's mean loss (valid once resume returned nullptr).
  float loss() const { return loss_; }
  /// The output neurons of split layer `pair`'s first layer this rank owns.
  slice part(int pair) const { return parts_[size_t(pair)]; }

private:
  const float* pair_input(int p) const;
  void forward_partial(int p);
  void finish_forward(int p, const float* sum);
  void loss_and_tail();
  const std::vector<float>* backward(int p);

  std::shared_ptr<const mlp> net_;
  int rank_;
  int ranks_;
  int pairs_;
  bool tail_; // an odd layer count: the last layer computed whole
  std::vector<slice> parts_;                 // per pair: this rank's neurons of its first layer
  std::vector<std::vector<float>> hidden_;   // per pair: this rank's first-layer activations
  std::vector<std::vector<float>> outputs_;  // per pair: the full second-layer output
  std::vector<float> tail_out_;              // the last layer's logits (tail_)
  std::vector<float> delta_;                 // the delta into the current pair's output
  std::vector<float> hidden_delta_;
  std::vector<float> partial_;               // this rank's contribution to the collective
  tensor_step_inputs in_;
  int phase_ = 0; // collectives done in this step
  float loss_ = 0;
};

} // namespace herd::model
