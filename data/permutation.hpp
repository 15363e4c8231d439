// Seeded permutations that are identical on every platform: std::mt19937_64's output is fixed by
// the standard, and the shuffle and bounded draws below are our own (std::shuffle and
// std::uniform_int_distribution are implementation-defined).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace herd::data {

/// One step of splitmix64 on `x`: a bijective 64-bit mixer.
uint64_t splitmix64(uint64_t x);

/// The seed of epoch `epoch`'s generator, mixed from the run seed and the epoch.
uint64_t epoch_seed(uint64_t seed, uint32_t epoch);

/// A permutation of [0, n) by Fisher-Yates over std::mt19937_64(epoch_seed(seed, epoch)).
/// Requires n <= 2^32.
std::vector<uint32_t> epoch_permutation(size_t n, uint64_t seed, uint32_t epoch);

} // namespace herd::data
