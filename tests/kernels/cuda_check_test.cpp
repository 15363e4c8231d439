// The parts of the CUDA backend that work without a device: error checks and discovery.
// Built with the CUDA backend; runs on every machine (the [cuda] tests are in tests/cuda).

#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include "kernels/cuda/cuda_raii.hpp"
#include "kernels/cuda/device.hpp"

using namespace herd::kernels;

TEST_CASE("cuda_device_count: returns a count without throwing", "[kernels]") {
  int n = -1;
  REQUIRE_NOTHROW(n = cuda_device_count());
  CHECK(n >= 0);
}

TEST_CASE("HERD_CUDA_CHECK: throws with file and line on error", "[kernels]") {
  CHECK_NOTHROW(HERD_CUDA_CHECK(cudaSuccess));
  try {
    HERD_CUDA_CHECK(cudaErrorInvalidValue);
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    INFO(what);
    CHECK(what.find("cuda_check_test.cpp:") != std::string::npos);
    CHECK(what.find("cudaErrorInvalidValue") != std::string::npos);
  }
}

TEST_CASE("HERD_CUBLAS_CHECK: throws with file, line and the status name", "[kernels]") {
  CHECK_NOTHROW(HERD_CUBLAS_CHECK(CUBLAS_STATUS_SUCCESS));
  try {
    HERD_CUBLAS_CHECK(CUBLAS_STATUS_NOT_INITIALIZED);
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    INFO(what);
    CHECK(what.find("cuda_check_test.cpp:") != std::string::npos);
    CHECK(what.find("CUBLAS_STATUS_NOT_INITIALIZED") != std::string::npos);
  }
}

TEST_CASE("use_device: an ordinal past the visible devices throws one clear line",
          "[kernels]") {
  const int n = cuda_device_count();
  try {
    use_device(n);
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what())
          == "cuda:" + std::to_string(n) + " requested but " + std::to_string(n)
               + " CUDA device(s) are visible");
  }
  CHECK_THROWS(use_device(-1));
}

TEST_CASE("device_buffer: empty buffers own nothing and move cleanly", "[kernels]") {
  device_buffer<float> a;
  CHECK(a.get() == nullptr);
  device_buffer<float> b(0); // no allocation, so no device needed
  CHECK(b.size() == 0);
  device_buffer<float> c(std::move(b));
  CHECK(c.get() == nullptr);
  pinned_buffer<float> p;
  CHECK(p.size() == 0);
}
