#include "kernels/cpu/softmax_xent.hpp"

#include <cassert>
#include <cmath>
#include <cstddef>

namespace herd::kernels {

float softmax_xent_cpu(const float* logits, const uint8_t* labels, int rows,
                       int classes, float* dlogits) {
  assert(rows >= 1 && classes >= 1);
  const float inv_rows = 1.0f / static_cast<float>(rows);
  double total = 0.0;
  for (int r = 0; r < rows; ++r) {
    const float* x = logits + std::size_t(r) * classes;
    const int label = labels[r];
    assert(label < classes);
    float mx = x[0];
    for (int c = 1; c < classes; ++c)
      mx = x[c] > mx ? x[c] : mx;
    // Read the label's logit before an in-place dlogits overwrites it.
    const float shifted_label = x[label] - mx;
    float* d = dlogits ? dlogits + std::size_t(r) * classes : nullptr;
    float sum = 0.0f;
    for (int c = 0; c < classes; ++c) {
      float e = std::exp(x[c] - mx);
      if (d)
        d[c] = e;
      sum += e;
    }
    total += static_cast<double>(std::log(sum) - shifted_label);
    if (d) {
      const float inv_sum = 1.0f / sum;
      for (int c = 0; c < classes; ++c)
        d[c] = (d[c] * inv_sum - (c == label ? 1.0f : 0.0f)) * inv_rows;
    }
  }
  return static_cast<float>(total / rows);
}

int count_correct_cpu(const float* logits, const uint8_t* labels, int rows,
                      int classes) {
  assert(rows >= 0 && classes >= 1);
  int correct = 0;
  for (int r = 0; r < rows; ++r) {
    const float* x = logits + std::size_t(r) * classes;
    int best = 0;
    for (int c = 1; c < classes; ++c)
      if (x[c] > x[best])
        best = c;
    correct += best == labels[r] ? 1 : 0;
  }
  return correct;
}

double softmax_xent_ref(const float* logits, const uint8_t* labels, int rows,
                        int classes, double* dlogits) {
  double total = 0.0;
  for (int r = 0; r < rows; ++r) {
    const float* x = logits + std::size_t(r) * classes;
    double mx = x[0];
    for (int c = 1; c < classes; ++c)
      if (x[c] > mx)
        mx = x[c];
    double sum = 0.0;
    for (int c = 0; c < classes; ++c)
      sum += std::exp(double(x[c]) - mx);
    const double log_z = mx + std::log(sum);
    total += log_z - double(x[labels[r]]);
    if (dlogits) {
      for (int c = 0; c < classes; ++c) {
        double p = std::exp(double(x[c]) - log_z);
        double y = c == labels[r] ? 1.0 : 0.0;
        dlogits[std::size_t(r) * classes + c] = (p - y) / rows;
      }
    }
  }
  return total / rows;
}

} // namespace herd::kernels
