#include "actors/compute_backend.hpp"

#include <stdexcept>

#include "actors/cpu_backend.hpp"
#include "config/job_config.hpp"

#if HERD_WITH_CUDA
#  include "actors/cuda_backend.hpp"
#  include "kernels/cuda/device.hpp"
#endif

namespace herd::actors {

caf::error check_device(const std::string& device) {
  if (device == "cpu")
    return {};
  auto ordinal = config::cuda_ordinal(device);
  if (!ordinal)
    return make_error(errc::invalid_argument,
                      "device \"" + device + "\": expected \"cpu\" or \"cuda:N\"");
#if HERD_WITH_CUDA
  const int n = kernels::cuda_device_count();
  if (*ordinal >= n)
    return make_error(errc::device_unavailable,
                      "\"" + device + "\" requested but this machine has "
                        + std::to_string(n) + " CUDA device(s)");
  return {};
#else
  return make_error(errc::device_unavailable,
                    "\"" + device
                      + "\" requested but this build has no CUDA backend (HERD_CUDA=OFF)");
#endif
}

expected<std::unique_ptr<compute_backend>>
make_compute_backend(const std::string& device, std::shared_ptr<const model::mlp> net,
                     int batch_size, size_t features) {
  if (auto err = check_device(device))
    return err;
  if (device == "cpu")
    return std::unique_ptr<compute_backend>{
      std::make_unique<cpu_backend>(std::move(net), batch_size, features)};
#if HERD_WITH_CUDA
  try {
    return std::unique_ptr<compute_backend>{std::make_unique<cuda_backend>(
      *config::cuda_ordinal(device), std::move(net), batch_size, features)};
  } catch (const std::runtime_error& e) { // allocation or driver failure: one line, no crash
    return make_error(errc::device_unavailable, "\"" + device + "\": " + e.what());
  }
#else
  return make_error(errc::device_unavailable, "device \"" + device + "\": no CUDA backend");
#endif
}

} // namespace herd::actors
