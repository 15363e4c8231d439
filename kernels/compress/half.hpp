#pragma once

// IEEE binary16 (fp16) and bfloat16 conversions, written out with integer
// operations (no F16C, no _Float16): float -> half rounds to nearest, ties to
// even; half -> float is exact.
//
// fp16: |x| >= 65520 (the midpoint above the largest half, 65504) becomes
//   +-inf; |x| < 2^-14 goes to the half subnormals (steps of 2^-24), and
//   |x| <= 2^-25 to a signed zero. NaN stays NaN (quiet, top payload bits
//   kept); inf stays inf.
// bf16: the top 16 bits of the float, rounded to nearest even; values that
//   round past FLT_MAX become +-inf; NaN stays NaN (quiet bit set).
// C++17 and host/device neutral.

#include <cstdint>
#include <cstring>

#include "kernels/compress/counter_rng.hpp" // HERD_COMPRESS_HD

namespace herd::kernels::compress {

HERD_COMPRESS_HD inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

HERD_COMPRESS_HD inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Written as selects without loops or variable shifts so that the codec's
// loop vectorizes.
HERD_COMPRESS_HD inline uint16_t float_to_fp16(float f) {
  const uint32_t x = float_bits(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t ax = x & 0x7fffffffu;
  // Normal half (|x| >= 2^-14): rebias the exponent (127 -> 15) and round
  // the 13 dropped bits to nearest even; a carry into the exponent is right.
  uint32_t normal = ax - 0x38000000u;
  normal = (normal + 0xfffu + ((normal >> 13) & 1u)) >> 13;
  // Subnormal half (|x| < 2^-14): adding 0.5f leaves the units of 2^-24 in
  // the low mantissa bits, rounded to nearest even by the FPU (float
  // subnormal inputs give 0 whether or not they are flushed).
  const uint32_t sub = float_bits(bits_float(ax) + 0.5f) - 0x3f000000u;
  // NaN: keep the top payload bits, force quiet.
  const uint32_t nan = 0x7e00u | ((ax >> 13) & 0x3ffu);
  uint32_t h = ax < 0x38800000u ? sub : normal;
  h = ax >= 0x477ff000u ? 0x7c00u : h; // >= 65520 (includes inf)
  h = ax > 0x7f800000u ? nan : h;
  return static_cast<uint16_t>(sign | h);
}

HERD_COMPRESS_HD inline float fp16_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t em = h & 0x7fffu;
  // Normal: rebias the exponent (15 -> 127). Zero/subnormal: em * 2^-24,
  // exact in float. Inf/NaN: all-ones exponent, payload kept.
  const uint32_t normal = (em << 13) + 0x38000000u;
  const uint32_t sub = float_bits(static_cast<float>(em) * 0x1p-24f);
  const uint32_t special = (em << 13) | 0x7f800000u;
  uint32_t bits = em < 0x400u ? sub : normal;
  bits = em >= 0x7c00u ? special : bits;
  return bits_float(sign | bits);
}

HERD_COMPRESS_HD inline uint16_t float_to_bf16(float f) {
  const uint32_t x = float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) // NaN
    return static_cast<uint16_t>((x >> 16) | 0x40u);
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

HERD_COMPRESS_HD inline float bf16_to_float(uint16_t h) {
  return bits_float(static_cast<uint32_t>(h) << 16);
}

} // namespace herd::kernels::compress
