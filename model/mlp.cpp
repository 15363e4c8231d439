#include "model/mlp.hpp"

#include <cmath>
#include <random>

#include "kernels/cpu/activation.hpp"
#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/softmax_xent.hpp"

namespace herd::model {

using kernels::trans;

mlp::mlp(std::vector<int> layers) : sizes_(std::move(layers)) {
  size_t offset = 0;
  for (size_t l = 1; l < sizes_.size(); ++l) {
    layer_view v;
    v.in = sizes_[l - 1];
    v.out = sizes_[l];
    v.w_offset = offset;
    offset += size_t(v.in) * size_t(v.out);
    v.b_offset = offset;
    offset += size_t(v.out);
    views_.push_back(v);
  }
  param_count_ = offset;
}

void mlp::init(float* params, uint64_t seed) const {
  std::mt19937_64 gen{seed};
  for (const auto& v : views_) {
    std::normal_distribution<float> dist{0.0f, std::sqrt(2.0f / float(v.in))};
    for (size_t i = 0; i < size_t(v.in) * size_t(v.out); ++i)
      params[v.w_offset + i] = dist(gen);
    for (int i = 0; i < v.out; ++i)
      params[v.b_offset + i] = 0.0f;
  }
}

void mlp::prepare(mlp_workspace& ws, int rows) const {
  if (ws.rows >= rows && ws.acts.size() == views_.size())
    return;
  ws.acts.resize(views_.size());
  ws.deltas.resize(views_.size());
  for (size_t l = 0; l < views_.size(); ++l) {
    ws.acts[l].resize(size_t(rows) * views_[l].out);
    ws.deltas[l].resize(size_t(rows) * views_[l].out);
  }
  ws.rows = rows;
}

namespace {

void round_if(const step_options& opts, float* x, size_t n) {
  if (opts.half)
    kernels::round_to_half_cpu(x, n, *opts.half);
}

} // namespace

void mlp::forward(const float* params, const float* x, int rows, mlp_workspace& ws,
                  const step_options& opts) const {
  prepare(ws, rows);
  const float* a = x;
  for (size_t l = 0; l < views_.size(); ++l) {
    const auto& v = views_[l];
    float* z = ws.acts[l].data();
    // z = a * W^T (rows x out)
    kernels::gemm_cpu(trans::no, trans::yes, rows, v.out, v.in, 1.0f, a, v.in,
                      params + v.w_offset, v.in, 0.0f, z, v.out);
    kernels::bias_relu_forward_cpu(z, params + v.b_offset, rows, v.out,
                                   l + 1 < views_.size());
    round_if(opts, z, size_t(rows) * v.out);
    a = z;
  }
}

float mlp::train_step(const float* params, const float* x, const uint8_t* y, int rows,
                      float* grad, mlp_workspace& ws, const step_options& opts) const {
  forward(params, x, rows, ws, opts);
  size_t last = views_.size() - 1;
  float loss = kernels::softmax_xent_cpu(ws.acts[last].data(), y, rows, views_[last].out,
                                         ws.deltas[last].data());
  if (opts.loss_scale != 1.0f)
    for (auto& d : ws.deltas[last])
      d *= opts.loss_scale;
  round_if(opts, ws.deltas[last].data(), size_t(rows) * views_[last].out);
  for (size_t l = views_.size(); l-- > 0;) {
    const auto& v = views_[l];
    const float* d = ws.deltas[l].data();
    const float* a_prev = l == 0 ? x : ws.acts[l - 1].data();
    // dW = d^T * a_prev (out x in), db = column sums of d
    kernels::gemm_cpu(trans::yes, trans::no, v.out, v.in, rows, 1.0f, d, v.out, a_prev, v.in,
                      0.0f, grad + v.w_offset, v.in);
    kernels::bias_grad_cpu(d, rows, v.out, grad + v.b_offset);
    round_if(opts, grad + v.w_offset, size_t(v.in) * v.out + v.out); // W_l then b_l
    if (l == 0)
      break;
    // d_prev = d * W (rows x in), masked by the ReLU of layer l-1
    float* d_prev = ws.deltas[l - 1].data();
    kernels::gemm_cpu(trans::no, trans::no, rows, v.in, v.out, 1.0f, d, v.out,
                      params + v.w_offset, v.in, 0.0f, d_prev, v.in);
    kernels::relu_backward_cpu(d_prev, ws.acts[l - 1].data(), rows * v.in);
    round_if(opts, d_prev, size_t(rows) * v.in);
  }
  return loss;
}

eval_result mlp::evaluate(const float* params, const float* x, const uint8_t* y, int rows,
                          mlp_workspace& ws) const {
  forward(params, x, rows, ws);
  size_t last = views_.size() - 1;
  const float* logits = ws.acts[last].data();
  eval_result r;
  r.rows = rows;
  r.loss_sum = double(kernels::softmax_xent_cpu(logits, y, rows, views_[last].out, nullptr))
               * rows;
  r.correct = kernels::count_correct_cpu(logits, y, rows, views_[last].out);
  return r;
}

} // namespace herd::model
