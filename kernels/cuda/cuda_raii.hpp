#pragma once

// RAII owners for CUDA resources: device buffers, pinned host buffers, streams, events and the
// cuBLAS handle. Move-only; a moved-from owner holds nothing. Constructors throw
// std::runtime_error with file:line on failure (HERD_CUDA_CHECK / HERD_CUBLAS_CHECK);
// destructors never throw (a failing free during unwinding is ignored on purpose).

#include <cstddef>
#include <utility>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "kernels/cuda/cuda_check.hpp"

namespace herd::kernels {

namespace detail {

void cublas_check(cublasStatus_t st, const char* expr, const char* file, int line);

} // namespace detail

#define HERD_CUBLAS_CHECK(expr)                                                \
  ::herd::kernels::detail::cublas_check((expr), #expr, __FILE__, __LINE__)

/// n elements of T in device memory (cudaMalloc); contents uninitialised.
template <class T>
class device_buffer {
public:
  device_buffer() = default;
  explicit device_buffer(size_t n) : n_(n) {
    if (n_ > 0)
      HERD_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&ptr_), n_ * sizeof(T)));
  }
  device_buffer(device_buffer&& o) noexcept
    : n_(std::exchange(o.n_, 0)), ptr_(std::exchange(o.ptr_, nullptr)) {}
  device_buffer& operator=(device_buffer&& o) noexcept {
    std::swap(n_, o.n_);
    std::swap(ptr_, o.ptr_);
    return *this;
  }
  ~device_buffer() {
    if (ptr_)
      cudaFree(ptr_);
  }

  T* get() const { return ptr_; }
  size_t size() const { return n_; }
  size_t bytes() const { return n_ * sizeof(T); }

private:
  size_t n_ = 0;
  T* ptr_ = nullptr;
};

/// n elements of T in page-locked host memory (cudaMallocHost), so async copies overlap.
template <class T>
class pinned_buffer {
public:
  pinned_buffer() = default;
  explicit pinned_buffer(size_t n) : n_(n) {
    if (n_ > 0)
      HERD_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&ptr_), n_ * sizeof(T)));
  }
  pinned_buffer(pinned_buffer&& o) noexcept
    : n_(std::exchange(o.n_, 0)), ptr_(std::exchange(o.ptr_, nullptr)) {}
  pinned_buffer& operator=(pinned_buffer&& o) noexcept {
    std::swap(n_, o.n_);
    std::swap(ptr_, o.ptr_);
    return *this;
  }
  ~pinned_buffer() {
    if (ptr_)
      cudaFreeHost(ptr_);
  }

  T* get() const { return ptr_; }
  T* begin() const { return ptr_; }
  T* end() const { return ptr_ + n_; }
  T& operator[](size_t i) const { return ptr_[i]; }
  size_t size() const { return n_; }

private:
  size_t n_ = 0;
  T* ptr_ = nullptr;
};

/// A non-blocking stream (does not synchronise with the legacy default stream).
class cuda_stream {
public:
  cuda_stream();
  cuda_stream(cuda_stream&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  cuda_stream& operator=(cuda_stream&& o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  ~cuda_stream();
  cudaStream_t get() const { return s_; }
  void sync() const;

private:
  cudaStream_t s_ = nullptr;
};

/// An event without timing unless `timing` (timing events cost a little on record).
class cuda_event {
public:
  explicit cuda_event(bool timing = false);
  cuda_event(cuda_event&& o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
  cuda_event& operator=(cuda_event&& o) noexcept {
    std::swap(e_, o.e_);
    return *this;
  }
  ~cuda_event();
  cudaEvent_t get() const { return e_; }
  void record(cudaStream_t s) const;
  void sync() const;
  /// Milliseconds between two recorded timing events.
  static float elapsed_ms(const cuda_event& from, const cuda_event& to);

private:
  cudaEvent_t e_ = nullptr;
};

/// A cuBLAS handle with its own workspace (so GEMMs can be captured in a CUDA graph without
/// cuBLAS allocating during capture), bound to one stream at a time.
class cublas_handle {
public:
  explicit cublas_handle(size_t workspace_bytes = size_t{32} << 20);
  cublas_handle(cublas_handle&& o) noexcept
    : h_(std::exchange(o.h_, nullptr)), workspace_(std::move(o.workspace_)) {}
  cublas_handle& operator=(cublas_handle&& o) noexcept {
    std::swap(h_, o.h_);
    std::swap(workspace_, o.workspace_);
    return *this;
  }
  ~cublas_handle();
  cublasHandle_t get() const { return h_; }
  void set_stream(cudaStream_t s) const;

private:
  cublasHandle_t h_ = nullptr;
  device_buffer<unsigned char> workspace_;
};

/// Makes `ordinal` the calling thread's current device; throws when it does not exist.
void use_device(int ordinal);

} // namespace herd::kernels
