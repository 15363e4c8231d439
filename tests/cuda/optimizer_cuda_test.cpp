#include "kernels/cuda/optimizer_cuda.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <cuda_runtime_api.h>

#include "kernels/cpu/optimizer.hpp"
#include "kernels/cuda/cuda_raii.hpp"
#include "tests/cuda/device_util.hpp"
#include "tests/kernels/test_util.hpp"

using namespace herd::kernels;
using namespace herd::kernels::test;

namespace {

// Sizes around the 256-thread block, plus one larger than a full grid
// (4096 blocks x 256) so the grid-stride loop runs more than once.
constexpr size_t sizes[] = {1, 255, 256, 257, 2'000'003};
constexpr int steps = 5;

} // namespace

TEST_CASE("sgd_update_cuda: several steps match the CPU path and reference",
          "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  cuda_stream s;
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
        auto dw = to_device(w), dm = to_device(m), dg = to_device(m);
        float* m_dev = momentum == 0.0f ? nullptr : dm.get();
        float* m_cpu = momentum == 0.0f ? nullptr : m.data();
        for (int t = 0; t < steps; ++t) {
          auto g = random_floats(rng, n);
          s.sync(); // dg is about to be overwritten
          upload(dg, g);
          sgd_update_cuda(dw.get(), m_dev, dg.get(), n, p, s.get());
          sgd_update_cpu(w.data(), m_cpu, g.data(), n, p);
          sgd_update_ref(w_ref.data(), m_ref.data(), g.data(), n, p);
        }
        s.sync();
        auto w_gpu = to_host(dw);
        check_close(w_gpu, w, 1e-6, 1e-6); // same math, FMA contraction aside
        check_close(w_gpu, w_ref, 1e-6, 1e-5);
        if (m_cpu)
          check_close(to_host(dm), m_ref, 1e-6, 1e-5);
      }
}

TEST_CASE("adam_update_cuda: several steps match the CPU path and reference",
          "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  cuda_stream s;
  for (size_t n : sizes) {
    adam_params p;
    p.lr = 1e-2f;
    p.weight_decay = 0.01f;
    INFO("n=" << n);
    auto w = random_floats(rng, n);
    std::vector<float> m(n, 0.0f), v(n, 0.0f);
    std::vector<double> w_ref(w.begin(), w.end()), m_ref(n, 0.0),
      v_ref(n, 0.0);
    auto dw = to_device(w), dm = to_device(m), dv = to_device(v), dg = to_device(m);
    for (int64_t t = 1; t <= steps; ++t) {
      auto g = random_floats(rng, n);
      s.sync();
      upload(dg, g);
      adam_update_cuda(dw.get(), dm.get(), dv.get(), dg.get(), n, p, t,
                       s.get());
      adam_update_cpu(w.data(), m.data(), v.data(), g.data(), n, p, t);
      adam_update_ref(w_ref.data(), m_ref.data(), v_ref.data(), g.data(), n,
                      p, t);
    }
    s.sync();
    auto w_gpu = to_host(dw);
    check_close(w_gpu, w, 1e-6, 1e-6);
    check_close(w_gpu, w_ref, 1e-6, 1e-5);
    check_close(to_host(dm), m_ref, 1e-6, 1e-5);
    check_close(to_host(dv), v_ref, 1e-7, 1e-5);
  }
}
