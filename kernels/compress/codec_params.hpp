#pragma once

// Parameters of the codecs, one plain struct for all of them; each codec
// reads the fields it needs (the registry passes the same struct to every
// factory).

#include <cstdint>

namespace herd::kernels::compress {

struct codec_params {
  // topk, randk: fraction of elements sent, k = clamp(round(density*n), 1, n).
  double density = 0.01;
  // topk: estimate the k-th magnitude from a random sample instead of the
  // exact selection (sends about k elements; see topk_codec.hpp).
  bool topk_sampled = false;
  // int8, qsgd: elements per bucket (one scale each).
  uint32_t bucket = 512;
  // qsgd: quantization levels s (codes 0..s), 1 <= s <= qsgd_max_levels.
  uint32_t levels = 4;
};

// Largest qsgd level count: a code (sign + level) must fit in 16 bits.
inline constexpr uint32_t qsgd_max_levels = 32767;

// Elements kept by a sparsifier for a slice of n: round(density*n) clamped to
// [1, n] (0 when n is 0); a non-finite or non-positive density keeps 1.
uint32_t sparse_count(double density, uint32_t n);

} // namespace herd::kernels::compress
