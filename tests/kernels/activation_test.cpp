#include "kernels/cpu/activation.hpp"

#include <vector>

#include <catch2/catch.hpp>

#include "tests/kernels/test_util.hpp"

using namespace herd::kernels;
using namespace herd::kernels::test;

namespace {

struct shape {
  int rows;
  int cols;
};

// Column counts around a vector/block boundary, plus one large (100k) case.
constexpr shape shapes[] = {{1, 1},  {3, 63},  {5, 64},   {7, 65},
                            {64, 1}, {65, 10}, {391, 256}};

} // namespace

TEST_CASE("bias_relu_forward_cpu: adds the bias and clamps like the reference",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (auto [rows, cols] : shapes) {
    for (bool relu : {false, true}) {
      INFO("rows=" << rows << " cols=" << cols << " relu=" << relu);
      auto y = random_floats(rng, size_t(rows) * cols);
      auto bias = random_floats(rng, size_t(cols), -0.5f, 0.5f);
      auto got = y;
      auto ref = y;
      bias_relu_forward_cpu(got.data(), bias.data(), rows, cols, relu);
      bias_relu_forward_ref(ref.data(), bias.data(), rows, cols, relu);
      check_close(got, ref, 0.0, 0.0); // one float add per element: exact
      // The bias was really added (row 0, col 0), and ReLU really clamped.
      float expect0 = y[0] + bias[0];
      if (relu && expect0 < 0.0f)
        expect0 = 0.0f;
      CHECK(got[0] == expect0);
      if (relu && rows * cols >= 64) {
        size_t zeros = 0, negative = 0;
        for (float v : got) {
          zeros += v == 0.0f;
          negative += v < 0.0f;
        }
        CHECK(zeros > 0);
        CHECK(negative == 0);
      }
    }
  }
}

TEST_CASE("relu_backward_cpu: zeroes dy where the output was not positive",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int n : {1, 63, 64, 65, 100000}) {
    INFO("n=" << n);
    auto y = random_floats(rng, size_t(n));
    for (size_t i = 0; i < y.size(); i += 3)
      y[i] = y[i] < 0.0f ? 0.0f : y[i]; // real ReLU outputs: exact zeros too
    auto dy = random_floats(rng, size_t(n));
    auto got = dy;
    auto ref = dy;
    relu_backward_cpu(got.data(), y.data(), n);
    relu_backward_ref(ref.data(), y.data(), n);
    check_close(got, ref, 0.0, 0.0);
    size_t wrong = 0;
    for (int i = 0; i < n; ++i)
      wrong += got[i] != (y[i] > 0.0f ? dy[i] : 0.0f);
    CHECK(wrong == 0);
  }
}

TEST_CASE("bias_grad_cpu: sums dy over rows and overwrites db", "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (auto [rows, cols] : shapes) {
    INFO("rows=" << rows << " cols=" << cols);
    auto dy = random_floats(rng, size_t(rows) * cols);
    std::vector<float> got(size_t(cols), 123.0f); // stale values: overwritten
    std::vector<double> ref(static_cast<size_t>(cols));
    bias_grad_cpu(dy.data(), rows, cols, got.data());
    bias_grad_ref(dy.data(), rows, cols, ref.data());
    check_close(got, ref, 1e-6 * rows, 1e-5);
  }
}
