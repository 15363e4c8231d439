#pragma once

// Counter-based random numbers for the stochastic codecs: the i-th draw of a
// stream is a pure function of (key, i), so encoding is deterministic per
// step seed, order-free (a CUDA kernel can draw element i in any thread) and
// needs no generator state. The mixer is splitmix64's finalizer.
// C++17 and host/device neutral, like kernels/optimizer_math.hpp.

#include <cstdint>

#ifdef __CUDACC__
#  define HERD_COMPRESS_HD __host__ __device__
#else
#  define HERD_COMPRESS_HD
#endif

namespace herd::kernels::compress {

HERD_COMPRESS_HD inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Stream key for a step seed and a codec-chosen salt, so two codecs fed the
// same step seed draw independent streams.
HERD_COMPRESS_HD inline uint64_t stream_key(uint64_t step_seed,
                                            uint64_t salt) {
  return mix64(step_seed ^ mix64(salt));
}

// The i-th 64-bit draw of the stream `key` (splitmix64 at position i).
HERD_COMPRESS_HD inline uint64_t draw64(uint64_t key, uint64_t i) {
  return mix64(key + i * 0x9e3779b97f4a7c15ull);
}

// A 32-bit bijective mixer (Wellons' lowbias32): 32-bit multiplies only, so
// per-element loops vectorize.
HERD_COMPRESS_HD inline uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

// Uniform in [0, 1) with 24 random bits (exact in float) for element i of
// the stream `key`: two rounds of hash32 keyed by the two halves of key.
HERD_COMPRESS_HD inline float uniform01(uint64_t key, uint32_t i) {
  const uint32_t h = hash32(hash32(i ^ static_cast<uint32_t>(key))
                            + static_cast<uint32_t>(key >> 32));
  return static_cast<float>(h >> 8) * 0x1p-24f;
}

// Uniform integer in [0, bound) by multiply-shift (bias below bound/2^64).
inline uint32_t uniform_below(uint64_t r, uint32_t bound) {
  return static_cast<uint32_t>(
    (static_cast<unsigned __int128>(r) * bound) >> 64);
}

} // namespace herd::kernels::compress
