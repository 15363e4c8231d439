#include "kernels/cpu/softmax_xent.hpp"

#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/kernels/test_util.hpp"

using namespace herd::kernels;
using namespace herd::kernels::test;

namespace {

std::vector<uint8_t> random_labels(std::mt19937_64& rng, int rows,
                                   int classes) {
  std::uniform_int_distribution<int> dist(0, classes - 1);
  std::vector<uint8_t> out(static_cast<size_t>(rows));
  for (auto& l : out)
    l = static_cast<uint8_t>(dist(rng));
  return out;
}

// Loss and gradient of the fast path against the double reference.
void check_against_ref(const std::vector<float>& logits,
                       const std::vector<uint8_t>& labels, int rows,
                       int classes) {
  std::vector<float> got(logits.size(), 99.0f);
  std::vector<double> ref(logits.size());
  float loss = softmax_xent_cpu(logits.data(), labels.data(), rows, classes,
                                got.data());
  double ref_loss = softmax_xent_ref(logits.data(), labels.data(), rows,
                                     classes, ref.data());
  CHECK(std::isfinite(loss));
  CHECK(close(loss, ref_loss, 1e-6, 1e-5));
  check_close(got, ref, 1e-6 / rows, 1e-5);
  // Without dlogits the loss is the same.
  float loss_only = softmax_xent_cpu(logits.data(), labels.data(), rows,
                                     classes, nullptr);
  CHECK(loss_only == loss);
  // Each gradient row sums to zero: sum(softmax) = 1 = sum(onehot).
  double worst = 0.0;
  for (int r = 0; r < rows; ++r) {
    double sum = 0.0;
    for (int c = 0; c < classes; ++c)
      sum += got[size_t(r) * classes + c];
    worst = std::max(worst, std::fabs(sum) * rows);
  }
  CHECK(worst <= 1e-5);
}

} // namespace

TEST_CASE("softmax_xent_cpu: loss and gradient match the double reference",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int rows : {1, 63, 64, 65})
    for (int classes : {1, 10, 63, 64, 65}) {
      INFO("rows=" << rows << " classes=" << classes);
      auto logits = random_floats(rng, size_t(rows) * classes, -4.0f, 4.0f);
      check_against_ref(logits, random_labels(rng, rows, classes), rows,
                        classes);
    }
  INFO("rows=10000 classes=10");
  auto logits = random_floats(rng, 100000, -4.0f, 4.0f);
  check_against_ref(logits, random_labels(rng, 10000, 10), 10000, 10);
}

TEST_CASE("softmax_xent_cpu: stays finite and accurate for logits near 1000",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const int rows = 65, classes = 10;
  // exp(1000) overflows float and double: only the max shift keeps this finite.
  auto logits = random_floats(rng, size_t(rows) * classes, 990.0f, 1010.0f);
  for (size_t i = 0; i < logits.size(); i += 7)
    logits[i] = -logits[i];
  check_against_ref(logits, random_labels(rng, rows, classes), rows, classes);
}

TEST_CASE("softmax_xent_cpu: known values for uniform and confident logits",
          "[kernels]") {
  // Equal logits: loss = log(classes), gradient = (1/classes - onehot)/rows.
  const int rows = 2, classes = 10;
  std::vector<float> logits(size_t(rows) * classes, 3.5f);
  std::vector<uint8_t> labels = {4, 9};
  std::vector<float> d(logits.size());
  float loss = softmax_xent_cpu(logits.data(), labels.data(), rows, classes,
                                d.data());
  CHECK(close(loss, std::log(10.0), 1e-6, 1e-6));
  CHECK(close(d[0], 0.1 / rows, 1e-7, 1e-5));
  CHECK(close(d[4], (0.1 - 1.0) / rows, 1e-7, 1e-5));
  CHECK(close(d[classes + 9], (0.1 - 1.0) / rows, 1e-7, 1e-5));
  // One logit 10 above the rest: loss = log(1 + 9 e^-10).
  logits.assign(size_t(classes), 0.0f);
  logits[2] = 10.0f;
  uint8_t label = 2;
  loss = softmax_xent_cpu(logits.data(), &label, 1, classes, nullptr);
  CHECK(close(loss, std::log1p(9.0 * std::exp(-10.0)), 0.0, 2e-3));
}

TEST_CASE("softmax_xent_cpu: dlogits matches finite differences of the loss",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const int rows = 4, classes = 10;
  auto logits = random_floats(rng, size_t(rows) * classes, -3.0f, 3.0f);
  auto labels = random_labels(rng, rows, classes);
  std::vector<float> d(logits.size());
  softmax_xent_cpu(logits.data(), labels.data(), rows, classes, d.data());
  std::vector<double> d_ref(logits.size());
  softmax_xent_ref(logits.data(), labels.data(), rows, classes, d_ref.data());
  std::vector<double> fd(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    auto plus = logits, minus = logits;
    plus[i] += 1e-2f;
    minus[i] -= 1e-2f;
    double lp = softmax_xent_ref(plus.data(), labels.data(), rows, classes,
                                 nullptr);
    double lm = softmax_xent_ref(minus.data(), labels.data(), rows, classes,
                                 nullptr);
    fd[i] = (lp - lm) / (double(plus[i]) - double(minus[i]));
  }
  check_close(d, fd, 1e-5, 1e-3);
  check_close(d_ref, fd, 1e-5, 1e-3);
}

TEST_CASE("softmax_xent_cpu: dlogits may be computed in place", "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const int rows = 65, classes = 10;
  auto logits = random_floats(rng, size_t(rows) * classes, -4.0f, 4.0f);
  auto labels = random_labels(rng, rows, classes);
  std::vector<float> d(logits.size());
  float loss = softmax_xent_cpu(logits.data(), labels.data(), rows, classes,
                                d.data());
  float loss_in_place = softmax_xent_cpu(logits.data(), labels.data(), rows,
                                         classes, logits.data());
  CHECK(loss_in_place == loss);
  check_close(logits, d, 0.0, 0.0);
}

TEST_CASE("count_correct_cpu: counts argmax hits, first max wins ties",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const int rows = 1000, classes = 10;
  auto logits = random_floats(rng, size_t(rows) * classes);
  std::vector<uint8_t> labels(static_cast<size_t>(rows));
  int expected = 0;
  for (int r = 0; r < rows; ++r) {
    // Plant a clear winner; label it correctly on every third row.
    int winner = r % classes;
    logits[size_t(r) * classes + winner] = 2.0f;
    bool hit = r % 3 == 0;
    labels[size_t(r)] = static_cast<uint8_t>(hit ? winner
                                                 : (winner + 1) % classes);
    expected += hit;
  }
  CHECK(count_correct_cpu(logits.data(), labels.data(), rows, classes)
        == expected);
  // Ties: equal maxima at 3 and 7 -> class 3; all equal -> class 0.
  std::vector<float> tie(size_t(classes), 0.0f);
  tie[3] = tie[7] = 1.0f;
  uint8_t l3 = 3, l7 = 7, l0 = 0;
  CHECK(count_correct_cpu(tie.data(), &l3, 1, classes) == 1);
  CHECK(count_correct_cpu(tie.data(), &l7, 1, classes) == 0);
  std::vector<float> flat(size_t(classes), 0.5f);
  CHECK(count_correct_cpu(flat.data(), &l0, 1, classes) == 1);
  CHECK(count_correct_cpu(flat.data(), &l3, 1, classes) == 0);
}
