// The CPU compute backend: model::mlp::train_step on plain host vectors, on the worker's own
// thread. Mixed precision is emulated as mlp.hpp describes (operands rounded to bf16/fp16).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "actors/compute_backend.hpp"

namespace herd::actors {

class cpu_backend final : public compute_backend {
public:
  /// Computes steps with `fn` (params, x, y, rows, grad, options) -> mean loss instead of the
  /// model's own train_step: tensor-parallel ranks (actors/tensor_group.hpp). In bf16/fp16 it
  /// gets what train_step would: params and x rounded, the options, a scaled gradient back.
  using step_fn = std::function<float(const float*, const float*, const uint8_t*, int, float*,
                                      const model::step_options&)>;

  cpu_backend(std::shared_ptr<const model::mlp> net, int batch_size, size_t features,
              step_fn fn = {});

  std::string device() const override { return "cpu"; }
  std::span<float> params() override { return params_; }
  std::span<const float> grad() const override { return grad_; }
  float* batch_x() override { return x_.data(); }
  uint8_t* batch_y() override { return y_.data(); }
  void params_ready(size_t, size_t) override {} // computes from params() in place
  backend_step_result step(int rows, const backend_step_options& opts) override;

private:
  std::shared_ptr<const model::mlp> net_;
  size_t features_;
  std::vector<float> params_;
  std::vector<float> grad_;
  std::vector<float> x_;
  std::vector<uint8_t> y_;
  model::mlp_workspace ws_;
  std::vector<float> half_params_; // params rounded to the compute format
  step_fn step_;
};

} // namespace herd::actors
