// A small in-memory classification data set for actor tests: random features, labels from a
// fixed random linear teacher so there is something to learn.
#pragma once

#include <memory>
#include <random>

#include "data/dataset.hpp"

namespace herd::test {

inline data::dataset synthetic_dataset(size_t count, size_t features, int classes,
                                       uint64_t seed) {
  std::mt19937_64 gen{seed};
  std::normal_distribution<float> dist;
  std::mt19937_64 teacher_gen{12345};
  std::vector<float> teacher(features * size_t(classes));
  for (auto& t : teacher)
    t = dist(teacher_gen);
  data::dataset d;
  d.count = count;
  d.features = features;
  d.classes = classes;
  d.x.resize(count * features);
  d.y.resize(count);
  for (size_t i = 0; i < count; ++i) {
    float best = -1e30f;
    for (size_t f = 0; f < features; ++f)
      d.x[i * features + f] = dist(gen);
    for (int c = 0; c < classes; ++c) {
      float s = 0;
      for (size_t f = 0; f < features; ++f)
        s += teacher[size_t(c) * features + f] * d.x[i * features + f];
      if (s > best) {
        best = s;
        d.y[i] = static_cast<uint8_t>(c);
      }
    }
  }
  return d;
}

/// `d` with every feature multiplied by `factor` (large inputs make fp16 steps overflow).
inline std::shared_ptr<const data::dataset> scaled(data::dataset d, float factor) {
  for (auto& x : d.x)
    x *= factor;
  return std::make_shared<const data::dataset>(std::move(d));
}

} // namespace herd::test
