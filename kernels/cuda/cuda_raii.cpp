#include "kernels/cuda/cuda_raii.hpp"

#include "kernels/cuda/cublas_api.hpp"

#include <stdexcept>
#include <string>

namespace herd::kernels {

namespace detail {

void cublas_check(cublasStatus_t st, const char* expr, const char* file, int line) {
  if (st == CUBLAS_STATUS_SUCCESS)
    return;
  throw std::runtime_error(std::string(file) + ":" + std::to_string(line) + ": " + expr
                           + ": " + cublas().status_name(st) + ": "
                           + cublas().status_string(st));
}

} // namespace detail

cuda_stream::cuda_stream() {
  HERD_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking));
}

cuda_stream::~cuda_stream() {
  if (s_)
    cudaStreamDestroy(s_);
}

void cuda_stream::sync() const {
  HERD_CUDA_CHECK(cudaStreamSynchronize(s_));
}

cuda_event::cuda_event(bool timing) {
  HERD_CUDA_CHECK(cudaEventCreateWithFlags(&e_, timing ? cudaEventDefault
                                                       : cudaEventDisableTiming));
}

cuda_event::~cuda_event() {
  if (e_)
    cudaEventDestroy(e_);
}

void cuda_event::record(cudaStream_t s) const {
  HERD_CUDA_CHECK(cudaEventRecord(e_, s));
}

void cuda_event::sync() const {
  HERD_CUDA_CHECK(cudaEventSynchronize(e_));
}

float cuda_event::elapsed_ms(const cuda_event& from, const cuda_event& to) {
  float ms = 0;
  HERD_CUDA_CHECK(cudaEventElapsedTime(&ms, from.e_, to.e_));
  return ms;
}

cublas_handle::cublas_handle(size_t workspace_bytes) : workspace_(workspace_bytes) {
  HERD_CUBLAS_CHECK(cublas().create(&h_));
  HERD_CUBLAS_CHECK(cublas().set_workspace(h_, workspace_.get(), workspace_.bytes()));
}

cublas_handle::~cublas_handle() {
  if (h_)
    cublas().destroy(h_);
}

void cublas_handle::set_stream(cudaStream_t s) const {
  HERD_CUBLAS_CHECK(cublas().set_stream(h_, s));
  // cublasSetStream resets the workspace to the default pool; keep ours (graph capture).
  HERD_CUBLAS_CHECK(cublas().set_workspace(h_, workspace_.get(), workspace_.bytes()));
}

void use_device(int ordinal) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    n = 0;
  }
  if (ordinal < 0 || ordinal >= n)
    throw std::runtime_error("cuda:" + std::to_string(ordinal) + " requested but "
                             + std::to_string(n) + " CUDA device(s) are visible");
  HERD_CUDA_CHECK(cudaSetDevice(ordinal));
}

} // namespace herd::kernels
