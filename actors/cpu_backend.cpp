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
  const float* params = params_.data();
  model::step_options so;
  if (opts.half) {
    // Mixed precision: fp32 master weights on the shards, half-precision operands here.
    half_params_.resize(params_.size());
    kernels::round_to_half_cpu(params_.data(), half_params_.data(), params_.size(), *opts.half);
    kernels::round_to_half_cpu(x_.data(), size_t(rows) * features_, *opts.half);
    params = half_params_.data();
    so.half = opts.half;
    so.loss_scale = opts.loss_scale;
  }
  float loss = step_ ? step_(params, x_.data(), y_.data(), rows, grad_.data(), so)
                     : net_->train_step(params, x_.data(), y_.data(), rows, grad_.data(), ws_, so);
  // A non-finite gradient (overflow, bad sample, divergence) is skipped and counted, never
  // pushed.
  if (so.loss_scale == 1.0f)
    return {loss, kernels::all_finite_cpu(grad_.data(), grad_.size())};
  if (!kernels::all_finite_cpu(grad_.data(), grad_.size()))
    return {loss, false};
  const float inv = 1.0f / opts.loss_scale;
  for (auto& g : grad_)
    g *= inv;
  return {loss, true};
}

} // namespace herd::actors
