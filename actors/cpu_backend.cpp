#include "actors/cpu_backend.hpp"

#include "kernels/loss_scaler.hpp"

namespace herd::actors {

cpu_backend::cpu_backend(std::shared_ptr<const model::mlp> net, int batch_size,
                         size_t features, step_fn fn)
  : net_(std::move(net)), features_(features), params_(net_->param_count()),
    grad_(net_->param_count()), x_(size_t(batch_size) * features), y_(size_t(batch_size)),
    step_(std::move(fn)) {
}

backend_step_result cpu_backend::step(int rows, const backend_step_options& opts) {
  if (!opts.half) {
    float loss =
      step_ ? step_(params_.data(), x_.data(), y_.data(), rows, grad_.data())
            : net_->train_step(params_.data(), x_.data(), y_.data(), rows, grad_.data(), ws_);
    // A non-finite gradient (bad sample, divergence) is skipped and counted, never pushed.
    return {loss, kernels::all_finite_cpu(grad_.data(), grad_.size())};
  }
  // Mixed precision: fp32 master weights on the shards, half-precision operands here.
  half_params_.resize(params_.size());
  kernels::round_to_half_cpu(params_.data(), half_params_.data(), params_.size(), *opts.half);
  kernels::round_to_half_cpu(x_.data(), size_t(rows) * features_, *opts.half);
  model::step_options so;
  so.half = opts.half;
  so.loss_scale = opts.loss_scale;
  float loss = net_->train_step(half_params_.data(), x_.data(), y_.data(), rows, grad_.data(),
                                ws_, so);
  if (opts.loss_scale == 1.0f)
    return {loss, kernels::all_finite_cpu(grad_.data(), grad_.size())};
  if (!kernels::all_finite_cpu(grad_.data(), grad_.size()))
    return {loss, false};
  const float inv = 1.0f / opts.loss_scale;
  for (auto& g : grad_)
    g *= inv;
  return {loss, true};
}

} // namespace herd::actors
