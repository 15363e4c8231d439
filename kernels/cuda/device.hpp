#pragma once

// CUDA device discovery that is safe on machines without a GPU or driver.

namespace herd::kernels {

// Number of visible CUDA devices; 0 when there is no device, no driver or the
// runtime fails to initialise. Never throws.
int cuda_device_count() noexcept;

} // namespace herd::kernels
