#include "model/tensor_rank.hpp"

#include <algorithm>
#include <cassert>

#include "kernels/cpu/activation.hpp"
#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/round_half.hpp"
#include "kernels/cpu/softmax_xent.hpp"

namespace herd::model {

using kernels::trans;

namespace {

void fit(std::vector<float>& v, size_t n) {
  if (v.size() < n)
    v.resize(n);
}

// The rounding points are mlp::train_step's (tensor_rank.hpp says where the results differ).
void round_if(const step_options& opts, float* x, size_t n) {
  if (opts.half)
    kernels::round_to_half_cpu(x, n, *opts.half);
}

// The loss gradient, scaled and rounded as mlp::train_step does.
void scale_loss_grad(const step_options& opts, float* d, size_t n) {
  if (opts.loss_scale != 1.0f)
    for (size_t i = 0; i < n; ++i)
      d[i] *= opts.loss_scale;
  round_if(opts, d, n);
}

} // namespace

tensor_rank::tensor_rank(std::shared_ptr<const mlp> net, int rank, int ranks)
  : net_(std::move(net)), rank_(rank), ranks_(ranks) {
  const auto& views = net_->layers();
  pairs_ = int(views.size() / 2);
  tail_ = views.size() % 2 == 1;
  assert(pairs_ >= 1 && rank_ >= 0 && rank_ < ranks_);
  for (int p = 0; p < pairs_; ++p) {
    int width = views[size_t(2 * p)].out;
    assert(ranks_ <= width);
    parts_.push_back(partition(size_t(width), size_t(ranks_))[size_t(rank_)]);
  }
  hidden_.resize(size_t(pairs_));
  outputs_.resize(size_t(pairs_));
}

const float* tensor_rank::pair_input(int p) const {
  return p == 0 ? in_.x : outputs_[size_t(p - 1)].data();
}

// This rank's neurons of the pair's first layer, then its partial sums of the second.
void tensor_rank::forward_partial(int p) {
  const auto& a = net_->layers()[size_t(2 * p)];
  const auto& b = net_->layers()[size_t(2 * p + 1)];
  int r0 = int(parts_[size_t(p)].offset);
  int w = int(parts_[size_t(p)].count);
  int rows = in_.rows;
  auto& h = hidden_[size_t(p)];
  fit(h, size_t(rows) * w);
  kernels::gemm_cpu(trans::no, trans::yes, rows, w, a.in, 1.0f, pair_input(p), a.in,
                    in_.params + a.w_offset + size_t(r0) * a.in, a.in, 0.0f, h.data(), w);
  kernels::bias_relu_forward_cpu(h.data(), in_.params + a.b_offset + r0, rows, w, true);
  round_if(in_.opts, h.data(), size_t(rows) * w);
  fit(partial_, size_t(rows) * b.out);
  // W_b's columns r0..r0+w are a sub-block with leading dimension b.in. Not rounded: the sum
  // over the ranks is (finish_forward).
  kernels::gemm_cpu(trans::no, trans::yes, rows, b.out, w, 1.0f, h.data(), w,
                    in_.params + b.w_offset + r0, b.in, 0.0f, partial_.data(), b.out);
}

void tensor_rank::finish_forward(int p, const float* sum) {
  const auto& views = net_->layers();
  const auto& b = views[size_t(2 * p + 1)];
  size_t n = size_t(in_.rows) * b.out;
  auto& out = outputs_[size_t(p)];
  fit(out, n);
  std::copy(sum, sum + n, out.begin());
  bool hidden = size_t(2 * p + 1) + 1 < views.size();
  kernels::bias_relu_forward_cpu(out.data(), in_.params + b.b_offset, in_.rows, b.out, hidden);
  round_if(in_.opts, out.data(), n);
}

// The loss, and the delta into the last pair's output (through the whole last layer, if any).
void tensor_rank::loss_and_tail() {
  const auto& views = net_->layers();
  int rows = in_.rows;
  const auto& last_out = outputs_[size_t(pairs_ - 1)];
  if (!tail_) {
    int classes = views.back().out;
    fit(delta_, size_t(rows) * classes);
    loss_ = kernels::softmax_xent_cpu(last_out.data(), in_.y, rows, classes, delta_.data());
    scale_loss_grad(in_.opts, delta_.data(), size_t(rows) * classes);
    return;
  }
  const auto& l = views.back();
  const float* w = in_.params + l.w_offset;
  fit(tail_out_, size_t(rows) * l.out);
  kernels::gemm_cpu(trans::no, trans::yes, rows, l.out, l.in, 1.0f, last_out.data(), l.in, w,
                    l.in, 0.0f, tail_out_.data(), l.out);
  kernels::bias_relu_forward_cpu(tail_out_.data(), in_.params + l.b_offset, rows, l.out, false);
  round_if(in_.opts, tail_out_.data(), size_t(rows) * l.out);
  loss_ = kernels::softmax_xent_cpu(tail_out_.data(), in_.y, rows, l.out, tail_out_.data());
  scale_loss_grad(in_.opts, tail_out_.data(), size_t(rows) * l.out);
  const float* d = tail_out_.data(); // now dLoss/dlogits
  if (rank_ == 0) {
    kernels::gemm_cpu(trans::yes, trans::no, l.out, l.in, rows, 1.0f, d, l.out, last_out.data(),
                      l.in, 0.0f, in_.grad + l.w_offset, l.in);
    kernels::bias_grad_cpu(d, rows, l.out, in_.grad + l.b_offset);
    round_if(in_.opts, in_.grad + l.w_offset, size_t(l.in) * l.out + l.out); // W, then b
  }
  fit(delta_, size_t(rows) * l.in);
  kernels::gemm_cpu(trans::no, trans::no, rows, l.in, l.out, 1.0f, d, l.out, w, l.in, 0.0f,
                    delta_.data(), l.in);
  kernels::relu_backward_cpu(delta_.data(), last_out.data(), rows * l.in);
  round_if(in_.opts, delta_.data(), size_t(rows) * l.in);
}

// delta_ holds the delta into pair p's output: this rank's gradient parts of the pair, and its
// partial delta into the pair's input (none for the first pair).
const std::vector<float>* tensor_rank::backward(int p) {
  const auto& a = net_->layers()[size_t(2 * p)];
  const auto& b = net_->layers()[size_t(2 * p + 1)];
  int r0 = int(parts_[size_t(p)].offset);
  int w = int(parts_[size_t(p)].count);
  int rows = in_.rows;
  const auto& h = hidden_[size_t(p)];
  if (rank_ == 0) {
    kernels::bias_grad_cpu(delta_.data(), rows, b.out, in_.grad + b.b_offset);
    round_if(in_.opts, in_.grad + b.b_offset, size_t(b.out));
  }
  float* gb = in_.grad + b.w_offset + r0;
  kernels::gemm_cpu(trans::yes, trans::no, b.out, w, rows, 1.0f, delta_.data(), b.out, h.data(),
                    w, 0.0f, gb, b.in);
  for (int i = 0; i < b.out; ++i) // this rank's columns of each row
    round_if(in_.opts, gb + size_t(i) * b.in, size_t(w));
  fit(hidden_delta_, size_t(rows) * w);
  kernels::gemm_cpu(trans::no, trans::no, rows, w, b.out, 1.0f, delta_.data(), b.out,
                    in_.params + b.w_offset + r0, b.in, 0.0f, hidden_delta_.data(), w);
  kernels::relu_backward_cpu(hidden_delta_.data(), h.data(), rows * w);
  round_if(in_.opts, hidden_delta_.data(), size_t(rows) * w);
  const float* wa = in_.params + a.w_offset + size_t(r0) * a.in;
  kernels::gemm_cpu(trans::yes, trans::no, w, a.in, rows, 1.0f, hidden_delta_.data(), w,
                    pair_input(p), a.in, 0.0f, in_.grad + a.w_offset + size_t(r0) * a.in, a.in);
  kernels::bias_grad_cpu(hidden_delta_.data(), rows, w, in_.grad + a.b_offset + r0);
  round_if(in_.opts, in_.grad + a.w_offset + size_t(r0) * a.in, size_t(w) * a.in);
  round_if(in_.opts, in_.grad + a.b_offset + r0, size_t(w));
  if (p == 0)
    return nullptr;
  fit(partial_, size_t(rows) * a.in); // rounded after the sum (resume)
  kernels::gemm_cpu(trans::no, trans::no, rows, a.in, w, 1.0f, hidden_delta_.data(), w, wa,
                    a.in, 0.0f, partial_.data(), a.in);
  return &partial_;
}

const std::vector<float>* tensor_rank::begin(const tensor_step_inputs& in) {
  in_ = in;
  phase_ = 0;
  forward_partial(0);
  return &partial_;
}

const std::vector<float>* tensor_rank::resume(const float* sum) {
  if (phase_ < pairs_) { // forward: the sum is pair p's output before its bias
    int p = phase_++;
    finish_forward(p, sum);
    if (p + 1 < pairs_) {
      forward_partial(p + 1);
      return &partial_;
    }
    loss_and_tail();
    return backward(pairs_ - 1);
  }
  // backward: the sum is the delta into pair p's input, i.e. pair p-1's output
  int p = pairs_ - 1 - (phase_ - pairs_);
  ++phase_;
  const auto& prev = net_->layers()[size_t(2 * p - 1)];
  size_t n = size_t(in_.rows) * prev.out;
  fit(delta_, n);
  std::copy(sum, sum + n, delta_.begin());
  kernels::relu_backward_cpu(delta_.data(), outputs_[size_t(p - 1)].data(), int(n));
  round_if(in_.opts, delta_.data(), n);
  return backward(p - 1);
}

} // namespace herd::model
