#include "kernels/cuda/softmax_xent_cuda.hpp"

#include <vector>

#include <catch2/catch.hpp>

#include "kernels/cpu/softmax_xent.hpp"
#include "kernels/cuda/cuda_raii.hpp"
#include "tests/cuda/device_util.hpp"
#include "tests/kernels/test_util.hpp"

using namespace herd::kernels;
using namespace herd::kernels::test;

TEST_CASE("softmax_xent_cuda: loss, scaled gradient and correct count match the CPU",
          "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  cuda_stream s;
  struct dims {
    int rows, classes;
  };
  for (auto [rows, classes] : {dims{1, 1}, dims{1, 10}, dims{255, 10}, dims{256, 3},
                               dims{257, 257}, dims{100'000, 10}})
    for (float scale : {1.0f, 1024.0f}) {
      INFO("rows=" << rows << " classes=" << classes << " scale=" << scale);
      auto logits = random_floats(rng, size_t(rows) * classes, -30.0f, 30.0f);
      std::vector<uint8_t> labels(static_cast<size_t>(rows));
      for (auto& l : labels)
        l = uint8_t(std::uniform_int_distribution<int>(0, classes - 1)(rng));
      auto d_logits = to_device(logits);
      auto d_labels = to_device(labels);
      device_buffer<float> d_grad{logits.size()}, row_loss{size_t(rows)}, loss{1};
      device_buffer<int> correct(1);
      softmax_xent_cuda(d_logits.get(), d_labels.get(), rows, classes, d_grad.get(), scale,
                        row_loss.get(), loss.get(), s.get());
      count_correct_cuda(d_logits.get(), d_labels.get(), rows, classes, correct.get(),
                         s.get());
      std::vector<double> ref_grad(logits.size());
      double ref = softmax_xent_ref(logits.data(), labels.data(), rows, classes,
                                    ref_grad.data());
      for (auto& g : ref_grad)
        g *= scale;
      CHECK(close(to_host(loss)[0], ref, 1e-6, 1e-5));
      check_close(to_host(d_grad), ref_grad, 1e-7 * scale, 1e-5);
      CHECK(to_host(correct)[0]
            == count_correct_cpu(logits.data(), labels.data(), rows, classes));
      // In place (dlogits == logits), as the GPU step uses it.
      softmax_xent_cuda(d_logits.get(), d_labels.get(), rows, classes, d_logits.get(), scale,
                        row_loss.get(), loss.get(), s.get());
      check_close(to_host(d_logits), ref_grad, 1e-7 * scale, 1e-5);
    }
}
