#include "data/permutation.hpp"

#include <cassert>
#include <numeric>
#include <random>

namespace herd::data {

namespace {

// Uniform in [0, bound] by rejection, so there is no modulo bias and no platform dependence.
uint64_t draw_at_most(std::mt19937_64& gen, uint64_t bound) {
  if (bound == ~uint64_t{0})
    return gen();
  const uint64_t range = bound + 1;
  const uint64_t limit = ~uint64_t{0} - (~uint64_t{0} % range + 1) % range; // last unbiased value
  for (;;) {
    const uint64_t r = gen();
    if (r <= limit)
      return r % range;
  }
}

} // namespace

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t epoch_seed(uint64_t seed, uint32_t epoch) {
  return splitmix64(splitmix64(seed) ^ epoch);
}

std::vector<uint32_t> epoch_permutation(size_t n, uint64_t seed, uint32_t epoch) {
  assert(n <= (uint64_t{1} << 32));
  std::vector<uint32_t> perm(n);
  std::iota(perm.begin(), perm.end(), uint32_t{0});
  std::mt19937_64 gen{epoch_seed(seed, epoch)};
  for (size_t i = n; i > 1; --i) {
    const auto j = static_cast<size_t>(draw_at_most(gen, i - 1));
    std::swap(perm[i - 1], perm[j]);
  }
  return perm;
}

} // namespace herd::data
