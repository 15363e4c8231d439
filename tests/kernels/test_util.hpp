#pragma once

// Helpers shared by the kernel tests: seeded random inputs and the
// |got - ref| <= atol + rtol * |ref| comparison.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

namespace herd::kernels::test {

// Catch's --rng-seed when given, a fixed default otherwise; tests INFO it.
inline uint64_t test_seed() {
  unsigned s = Catch::rngSeed();
  return s != 0 ? s : 20240607u;
}

// Uniform floats in [lo, hi); with lo < 0 < hi they are never all zero.
inline std::vector<float> random_floats(std::mt19937_64& rng, size_t n,
                                        float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> out(n);
  for (auto& x : out)
    x = dist(rng);
  return out;
}

inline bool close(double got, double ref, double atol, double rtol) {
  return std::fabs(got - ref) <= atol + rtol * std::fabs(ref); // false on NaN
}

// Checks every element and reports the count and the first mismatch.
template <class T, class U>
void check_close(const T* got, const U* ref, size_t n, double atol,
                 double rtol) {
  size_t bad = 0;
  size_t first = n;
  for (size_t i = 0; i < n; ++i) {
    if (!close(double(got[i]), double(ref[i]), atol, rtol)) {
      if (bad++ == 0)
        first = i;
    }
  }
  if (bad != 0) {
    INFO("first mismatch at " << first << ": got " << double(got[first])
                              << ", ref " << double(ref[first]) << " (atol "
                              << atol << ", rtol " << rtol << ")");
    CHECK(bad == 0);
  } else {
    SUCCEED();
  }
}

template <class T, class U>
void check_close(const std::vector<T>& got, const std::vector<U>& ref,
                 double atol, double rtol) {
  REQUIRE(got.size() == ref.size());
  check_close(got.data(), ref.data(), got.size(), atol, rtol);
}

} // namespace herd::kernels::test
