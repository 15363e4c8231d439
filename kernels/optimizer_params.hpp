#pragma once

// Hyper-parameters of the optimizers; shared by the CPU and CUDA launchers.
// Plain aggregates (trivially copyable) so they can be passed to kernels by value.

namespace herd::kernels {

struct sgd_params {
  float lr = 0.01f;
  float momentum = 0.0f;
  bool nesterov = false;
  float weight_decay = 0.0f;
};

struct adam_params {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
};

} // namespace herd::kernels
