#pragma once

// Host <-> device copies for the [cuda] tests (synchronous: tests are not about overlap).

#include <vector>

#include "kernels/cuda/cuda_raii.hpp"

namespace herd::kernels::test {

// Copies host into d (d.size() >= host.size()) and waits for the copy to land: a pageable
// cudaMemcpy may return before the DMA ends, and the tests' streams do not wait for the
// legacy default stream.
template <class T>
void upload(device_buffer<T>& d, const std::vector<T>& host) {
  if (host.empty())
    return;
  HERD_CUDA_CHECK(cudaMemcpy(d.get(), host.data(), host.size() * sizeof(T),
                             cudaMemcpyHostToDevice));
  HERD_CUDA_CHECK(cudaDeviceSynchronize());
}

template <class T>
device_buffer<T> to_device(const std::vector<T>& host) {
  device_buffer<T> d(host.size());
  upload(d, host);
  return d;
}

// Waits for all device work, then copies n elements back.
template <class T>
std::vector<T> to_host(const device_buffer<T>& d, size_t n) {
  HERD_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<T> out(n);
  if (n > 0)
    HERD_CUDA_CHECK(cudaMemcpy(out.data(), d.get(), n * sizeof(T), cudaMemcpyDeviceToHost));
  return out;
}

template <class T>
std::vector<T> to_host(const device_buffer<T>& d) {
  return to_host(d, d.size());
}

} // namespace herd::kernels::test
