#include "model/mlp_cuda.hpp"

#include <algorithm>

#include "kernels/cuda/activation_cuda.hpp"
#include "kernels/cuda/elementwise_cuda.hpp"
#include "kernels/cuda/softmax_xent_cuda.hpp"

namespace herd::model {

using kernels::device_buffer;
using kernels::gemm_type;
using kernels::trans;

namespace {

kernels::half_format format_of(gemm_type t) {
  return t == gemm_type::bf16 ? kernels::half_format::bf16 : kernels::half_format::fp16;
}

} // namespace

mlp_cuda::mlp_cuda(const mlp& net, int max_rows, gemm_type type)
  : net_(net), max_rows_(max_rows), type_(type), params_(net.param_count()),
    grad_(net.param_count()), x_(size_t(max_rows) * net.inputs()), loss_(1),
    row_loss_(size_t(max_rows)), y_(size_t(max_rows)), bad_(1) {
  size_t widest = 0;
  for (const auto& v : net_.layers()) {
    acts_.emplace_back(size_t(max_rows) * v.out);
    widest = std::max({widest, size_t(v.out), size_t(v.in)});
  }
  delta_a_ = device_buffer<float>(size_t(max_rows) * widest);
  delta_b_ = device_buffer<float>(size_t(max_rows) * widest);
  if (half()) {
    params_h_ = device_buffer<uint16_t>(net.param_count());
    x_h_ = device_buffer<uint16_t>(size_t(max_rows) * net.inputs());
    delta_h_ = device_buffer<uint16_t>(size_t(max_rows) * widest);
    for (const auto& v : net_.layers())
      acts_h_.emplace_back(size_t(max_rows) * v.out);
  }
}

bool mlp_cuda::half() const {
  return type_ == gemm_type::bf16 || type_ == gemm_type::fp16;
}

// The GEMM operand for src: src itself in fp32/tf32, else its 16-bit cast in scratch.
const void* mlp_cuda::operand(const float* src, size_t n, uint16_t* scratch, cudaStream_t s) {
  if (!half())
    return src;
  kernels::to_half_cuda(src, scratch, n, format_of(type_), s);
  return scratch;
}

void mlp_cuda::gemm(trans ta, trans tb, int m, int n, int k, const void* a, int lda,
                    const void* b, int ldb, float* c, int ldc, cudaStream_t s) {
  kernels::gemm_cuda(blas_, type_, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc, s);
}

void mlp_cuda::forward(int rows, cudaStream_t s) {
  const auto& views = net_.layers();
  const uint16_t* w_h = nullptr;
  if (half()) {
    kernels::to_half_cuda(params_.get(), params_h_.get(), params_.size(), format_of(type_), s);
    w_h = params_h_.get();
  }
  const void* a = operand(x_.get(), size_t(rows) * net_.inputs(), x_h_.get(), s);
  for (size_t l = 0; l < views.size(); ++l) {
    const auto& v = views[l];
    float* z = acts_[l].get();
    const void* w = half() ? static_cast<const void*>(w_h + v.w_offset)
                           : static_cast<const void*>(params_.get() + v.w_offset);
    gemm(trans::no, trans::yes, rows, v.out, v.in, a, v.in, w, v.in, z, v.out, s);
    kernels::bias_relu_forward_cuda(z, params_.get() + v.b_offset, rows, v.out,
                                    l + 1 < views.size(), s);
    if (l + 1 < views.size())
      a = operand(z, size_t(rows) * v.out, half() ? acts_h_[l].get() : nullptr, s);
  }
}

void mlp_cuda::train_step(int rows, float grad_scale, cudaStream_t s,
                          const std::function<void(size_t)>& grad_ready) {
  forward(rows, s);
  const auto& views = net_.layers();
  const size_t last = views.size() - 1;
  float* d = delta_a_.get();
  float* d_other = delta_b_.get();
  kernels::softmax_xent_cuda(acts_[last].get(), y_.get(), rows, views[last].out, d, grad_scale,
                             row_loss_.get(), loss_.get(), s);
  for (size_t l = views.size(); l-- > 0;) {
    const auto& v = views[l];
    const void* d_op = operand(d, size_t(rows) * v.out, delta_h_.get(), s);
    const void* a_prev =
      l == 0 ? (half() ? static_cast<const void*>(x_h_.get()) : x_.get())
             : (half() ? static_cast<const void*>(acts_h_[l - 1].get()) : acts_[l - 1].get());
    // dW = d^T a_prev (out x in), db = column sums of d
    gemm(trans::yes, trans::no, v.out, v.in, rows, d_op, v.out, a_prev, v.in,
         grad_.get() + v.w_offset, v.in, s);
    kernels::bias_grad_cuda(d, rows, v.out, grad_.get() + v.b_offset, s);
    if (grad_ready)
      grad_ready(l);
    if (l == 0)
      break;
    // d_prev = d W (rows x in), masked by the ReLU of layer l-1
    const void* w = half() ? static_cast<const void*>(params_h_.get() + v.w_offset)
                           : static_cast<const void*>(params_.get() + v.w_offset);
    gemm(trans::no, trans::no, rows, v.in, v.out, d_op, v.out, w, v.in, d_other, v.in, s);
    kernels::relu_backward_cuda(d_other, acts_[l - 1].get(), rows * v.in, s);
    std::swap(d, d_other);
  }
}

void mlp_cuda::evaluate(int rows, int* correct, cudaStream_t s) {
  forward(rows, s);
  const auto& views = net_.layers();
  const size_t last = views.size() - 1;
  kernels::softmax_xent_cuda(acts_[last].get(), y_.get(), rows, views[last].out, nullptr, 1.0f,
                             row_loss_.get(), loss_.get(), s);
  kernels::count_correct_cuda(acts_[last].get(), y_.get(), rows, views[last].out, correct, s);
}

} // namespace herd::model
