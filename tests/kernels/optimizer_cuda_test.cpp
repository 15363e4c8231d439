#include "kernels/cuda/optimizer_cuda.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <cuda_runtime_api.h>

#include "kernels/cpu/optimizer.hpp"
#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/device.hpp"
#include "tests/kernels/test_util.hpp"

using namespace herd::kernels;
using namespace herd::kernels::test;

namespace {

// Sizes around the 256-thread block, plus one larger than a full grid
// (4096 blocks x 256) so the grid-stride loop runs more than once.
constexpr size_t sizes[] = {1, 255, 256, 257, 2'000'003};
constexpr int steps = 5;

// Owns a device buffer of floats; test-only RAII.
class device_buffer {
public:
  explicit device_buffer(const std::vector<float>& host) : n_(host.size()) {
    HERD_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&ptr_),
                               n_ * sizeof(float)));
    upload(host);
  }
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  ~device_buffer() { cudaFree(ptr_); }

  void upload(const std::vector<float>& host) {
    REQUIRE(host.size() == n_);
    HERD_CUDA_CHECK(cudaMemcpy(ptr_, host.data(), n_ * sizeof(float),
                               cudaMemcpyHostToDevice));
  }
  std::vector<float> download() const {
    std::vector<float> out(n_);
    HERD_CUDA_CHECK(cudaMemcpy(out.data(), ptr_, n_ * sizeof(float),
                               cudaMemcpyDeviceToHost));
    return out;
  }
  float* get() const { return ptr_; }

private:
  size_t n_;
  float* ptr_ = nullptr;
};

class stream {
public:
  stream() { HERD_CUDA_CHECK(cudaStreamCreate(&s_)); }
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  ~stream() { cudaStreamDestroy(s_); }
  cudaStream_t get() const { return s_; }
  void sync() const { HERD_CUDA_CHECK(cudaStreamSynchronize(s_)); }

private:
  cudaStream_t s_ = nullptr;
};

bool skip_without_device() {
  if (cuda_device_count() > 0)
    return false;
  WARN("skipped: no CUDA device");
  return true;
}

} // namespace

TEST_CASE("cuda_device_count: returns a count without throwing", "[cuda]") {
  int n = -1;
  REQUIRE_NOTHROW(n = cuda_device_count());
  CHECK(n >= 0);
}

TEST_CASE("HERD_CUDA_CHECK: throws with file and line on error", "[cuda]") {
  CHECK_NOTHROW(HERD_CUDA_CHECK(cudaSuccess));
  try {
    HERD_CUDA_CHECK(cudaErrorInvalidValue);
    FAIL("no exception");
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    INFO(what);
    CHECK(what.find("optimizer_cuda_test.cpp:") != std::string::npos);
    CHECK(what.find("cudaErrorInvalidValue") != std::string::npos);
  }
}

TEST_CASE("sgd_update_cuda: several steps match the CPU path and reference",
          "[cuda]") {
  if (skip_without_device())
    return;
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  stream s;
  for (float momentum : {0.0f, 0.9f})
    for (bool nesterov : {false, true})
      for (size_t n : sizes) {
        sgd_params p;
        p.lr = 0.1f;
        p.momentum = momentum;
        p.nesterov = nesterov;
        p.weight_decay = 0.05f;
        INFO("n=" << n << " momentum=" << momentum << " nesterov="
                  << nesterov);
        auto w = random_floats(rng, n);
        std::vector<float> m(n, 0.0f);
        std::vector<double> w_ref(w.begin(), w.end()), m_ref(n, 0.0);
        device_buffer dw(w), dm(m), dg(m);
        float* m_dev = momentum == 0.0f ? nullptr : dm.get();
        float* m_cpu = momentum == 0.0f ? nullptr : m.data();
        for (int t = 0; t < steps; ++t) {
          auto g = random_floats(rng, n);
          s.sync(); // dg is about to be overwritten
          dg.upload(g);
          sgd_update_cuda(dw.get(), m_dev, dg.get(), n, p, s.get());
          sgd_update_cpu(w.data(), m_cpu, g.data(), n, p);
          sgd_update_ref(w_ref.data(), m_ref.data(), g.data(), n, p);
        }
        s.sync();
        auto w_gpu = dw.download();
        check_close(w_gpu, w, 1e-6, 1e-6); // same math, FMA contraction aside
        check_close(w_gpu, w_ref, 1e-6, 1e-5);
        if (m_cpu)
          check_close(dm.download(), m_ref, 1e-6, 1e-5);
      }
}

TEST_CASE("adam_update_cuda: several steps match the CPU path and reference",
          "[cuda]") {
  if (skip_without_device())
    return;
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  stream s;
  for (size_t n : sizes) {
    adam_params p;
    p.lr = 1e-2f;
    p.weight_decay = 0.01f;
    INFO("n=" << n);
    auto w = random_floats(rng, n);
    std::vector<float> m(n, 0.0f), v(n, 0.0f);
    std::vector<double> w_ref(w.begin(), w.end()), m_ref(n, 0.0),
      v_ref(n, 0.0);
    device_buffer dw(w), dm(m), dv(v), dg(m);
    for (int64_t t = 1; t <= steps; ++t) {
      auto g = random_floats(rng, n);
      s.sync();
      dg.upload(g);
      adam_update_cuda(dw.get(), dm.get(), dv.get(), dg.get(), n, p, t,
                       s.get());
      adam_update_cpu(w.data(), m.data(), v.data(), g.data(), n, p, t);
      adam_update_ref(w_ref.data(), m_ref.data(), v_ref.data(), g.data(), n,
                      p, t);
    }
    s.sync();
    auto w_gpu = dw.download();
    check_close(w_gpu, w, 1e-6, 1e-6);
    check_close(w_gpu, w_ref, 1e-6, 1e-5);
    check_close(dm.download(), m_ref, 1e-6, 1e-5);
    check_close(dv.download(), v_ref, 1e-7, 1e-5);
  }
}
