#include "kernels/cuda/activation_cuda.hpp"

#include <vector>

#include <catch2/catch.hpp>

#include "kernels/cpu/activation.hpp"
#include "kernels/cuda/cuda_raii.hpp"
#include "tests/cuda/device_util.hpp"
#include "tests/kernels/test_util.hpp"

using namespace herd::kernels;
using namespace herd::kernels::test;

namespace {

struct dims {
  int rows, cols;
};
// 1, 255, 256, 257 and a large case (more elements than one full grid of 4096 x 256).
constexpr dims sizes[] = {{1, 1}, {1, 255}, {255, 1}, {256, 256}, {257, 3},
                          {3, 257}, {4096, 1031}};

} // namespace

TEST_CASE("bias_relu_forward_cuda: matches the reference with and without ReLU", "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  cuda_stream s;
  for (bool relu : {false, true})
    for (auto [rows, cols] : sizes) {
      INFO("rows=" << rows << " cols=" << cols << " relu=" << relu);
      auto y = random_floats(rng, size_t(rows) * cols);
      auto bias = random_floats(rng, size_t(cols));
      auto dy = to_device(y);
      auto db = to_device(bias);
      bias_relu_forward_cuda(dy.get(), db.get(), rows, cols, relu, s.get());
      bias_relu_forward_ref(y.data(), bias.data(), rows, cols, relu);
      check_close(to_host(dy), y, 0.0, 1e-6);
    }
}

TEST_CASE("relu_backward_cuda: zeroes the gradient where the output is not positive",
          "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  cuda_stream s;
  for (auto [rows, cols] : sizes) {
    const int n = rows * cols;
    INFO("n=" << n);
    auto g = random_floats(rng, size_t(n));
    auto y = random_floats(rng, size_t(n));
    for (int i = 0; i < n; i += 7)
      y[size_t(i)] = 0.0f; // exactly zero counts as inactive
    auto dg = to_device(g);
    auto dy = to_device(y);
    relu_backward_cuda(dg.get(), dy.get(), n, s.get());
    relu_backward_ref(g.data(), y.data(), n);
    check_close(to_host(dg), g, 0.0, 0.0);
  }
}

TEST_CASE("bias_grad_cuda: column sums match the double reference", "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  cuda_stream s;
  for (auto [rows, cols] : sizes) {
    INFO("rows=" << rows << " cols=" << cols);
    auto dy = random_floats(rng, size_t(rows) * cols);
    auto d_dy = to_device(dy);
    device_buffer<float> d_db{size_t(cols)};
    bias_grad_cuda(d_dy.get(), rows, cols, d_db.get(), s.get());
    std::vector<double> ref(static_cast<size_t>(cols));
    bias_grad_ref(dy.data(), rows, cols, ref.data());
    std::vector<float> cpu(static_cast<size_t>(cols));
    bias_grad_cpu(dy.data(), rows, cols, cpu.data());
    auto got = to_host(d_db);
    check_close(got, ref, 1e-6 * rows, 1e-5);
    check_close(got, cpu, 1e-6 * rows, 1e-5);
  }
}
