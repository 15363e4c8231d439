#include "model/stage_compute.hpp"

#include <algorithm>
#include <cassert>

#include "kernels/cpu/activation.hpp"
#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/softmax_xent.hpp"

namespace herd::model {

using kernels::trans;

stage_compute::stage_compute(std::shared_ptr<const mlp> net, stage_range range)
  : net_(std::move(net)), range_(range) {}

void stage_compute::round_if(float* x, size_t n) const {
  if (half_)
    kernels::round_to_half_cpu(x, n, *half_);
}

stage_compute::slot& stage_compute::slot_at(int m) {
  if (size_t(m) >= slots_.size())
    slots_.resize(size_t(m) + 1);
  return slots_[size_t(m)];
}

void stage_compute::begin(float* grad) {
  std::fill(grad + range_.offset, grad + range_.offset + range_.count, 0.0f);
}

const std::vector<float>& stage_compute::forward(int m, const float* params, const float* x,
                                                 int rows) {
  auto& s = slot_at(m);
  s.rows = rows;
  s.x.assign(x, x + size_t(rows) * range_.in);
  round_if(s.x.data(), s.x.size()); // stage 0's data; a no-op on a previous stage's output
  int layers = range_.end_layer - range_.first_layer;
  s.acts.resize(size_t(layers));
  const auto& views = net_->layers();
  const float* a = s.x.data();
  for (int i = 0; i < layers; ++i) {
    size_t l = size_t(range_.first_layer + i);
    const auto& v = views[l];
    auto& z = s.acts[size_t(i)];
    z.resize(size_t(rows) * v.out);
    kernels::gemm_cpu(trans::no, trans::yes, rows, v.out, v.in, 1.0f, a, v.in,
                      params + v.w_offset, v.in, 0.0f, z.data(), v.out);
    kernels::bias_relu_forward_cpu(z.data(), params + v.b_offset, rows, v.out,
                                   l + 1 < views.size());
    round_if(z.data(), z.size());
    a = z.data();
  }
  return s.acts.back();
}

float stage_compute::loss_and_delta(int m, const uint8_t* y, float weight) {
  assert(is_last());
  auto& s = slot_at(m);
  s.last_delta.resize(size_t(s.rows) * range_.out);
  float loss = kernels::softmax_xent_cpu(s.acts.back().data(), y, s.rows, range_.out,
                                         s.last_delta.data());
  if (weight != 1.0f)
    for (auto& d : s.last_delta)
      d *= weight;
  round_if(s.last_delta.data(), s.last_delta.size());
  return loss;
}

const std::vector<float>& stage_compute::backward(int m, const float* params,
                                                  const float* delta, float* grad) {
  auto& s = slot_at(m);
  int rows = s.rows;
  const auto& views = net_->layers();
  const float* d0 = is_last() ? s.last_delta.data() : delta;
  d_cur_.assign(d0, d0 + size_t(rows) * range_.out);
  for (int l = range_.end_layer; l-- > range_.first_layer;) {
    const auto& v = views[size_t(l)];
    int i = l - range_.first_layer;
    const float* a_prev = i == 0 ? s.x.data() : s.acts[size_t(i - 1)].data();
    // dW += d^T * a_prev (out x in); db += column sums of d
    db_.resize(size_t(v.out));
    kernels::bias_grad_cpu(d_cur_.data(), rows, v.out, db_.data());
    if (half_) { // the micro-batch's dW comes out of a half GEMM, then adds up in fp32
      dw_.resize(size_t(v.in) * v.out);
      kernels::gemm_cpu(trans::yes, trans::no, v.out, v.in, rows, 1.0f, d_cur_.data(), v.out,
                        a_prev, v.in, 0.0f, dw_.data(), v.in);
      round_if(dw_.data(), dw_.size());
      round_if(db_.data(), db_.size());
      for (size_t j = 0; j < dw_.size(); ++j)
        grad[v.w_offset + j] += dw_[j];
    } else {
      kernels::gemm_cpu(trans::yes, trans::no, v.out, v.in, rows, 1.0f, d_cur_.data(), v.out,
                        a_prev, v.in, 1.0f, grad + v.w_offset, v.in);
    }
    for (int o = 0; o < v.out; ++o)
      grad[v.b_offset + size_t(o)] += db_[size_t(o)];
    if (l == 0) {
      out_delta_.clear();
      break;
    }
    // d_prev = d * W (rows x in), masked by the ReLU of layer l-1 (whose output is a_prev)
    d_prev_.resize(size_t(rows) * v.in);
    kernels::gemm_cpu(trans::no, trans::no, rows, v.in, v.out, 1.0f, d_cur_.data(), v.out,
                      params + v.w_offset, v.in, 0.0f, d_prev_.data(), v.in);
    kernels::relu_backward_cpu(d_prev_.data(), a_prev, rows * v.in);
    round_if(d_prev_.data(), d_prev_.size());
    std::swap(d_cur_, d_prev_);
    if (i == 0)
      out_delta_ = d_cur_;
  }
  return out_delta_;
}

} // namespace herd::model
