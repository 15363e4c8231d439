#include "kernels/compress/code_packing.hpp"

#include <cassert>
#include <cstring>

namespace herd::kernels::compress {

namespace {

using u128 = unsigned __int128;

// Little-endian byte order is assumed (checked in dense_codec.cpp).
inline u128 load_bytes(const uint8_t* in, size_t bytes) {
  u128 v = 0;
  std::memcpy(&v, in, bytes);
  return v;
}

// w = 2, 4, 8: 8/w codes per byte. Written per byte so the loops vectorize.
template <uint32_t w>
void pack_small(const uint16_t* __restrict codes, size_t n,
                uint8_t* __restrict out) {
  constexpr uint32_t per = 8 / w;
  const size_t full = n / per;
  for (size_t b = 0; b < full; ++b) {
    uint32_t byte = 0;
    for (uint32_t j = 0; j < per; ++j)
      byte |= uint32_t(codes[per * b + j]) << (j * w);
    out[b] = uint8_t(byte);
  }
  if (full * per < n) {
    uint32_t byte = 0;
    for (size_t j = 0; full * per + j < n; ++j)
      byte |= uint32_t(codes[full * per + j]) << (j * w);
    out[full] = uint8_t(byte);
  }
}

template <uint32_t w>
bool unpack_small(const uint8_t* __restrict in, size_t n,
                  uint16_t* __restrict codes) {
  constexpr uint32_t per = 8 / w, mask = (1u << w) - 1u;
  const size_t full = n / per;
  for (size_t b = 0; b < full; ++b) {
    const uint32_t byte = in[b];
    for (uint32_t j = 0; j < per; ++j)
      codes[per * b + j] = uint16_t((byte >> (j * w)) & mask);
  }
  const size_t rest = n - full * per;
  if (rest == 0)
    return true;
  const uint32_t byte = in[full];
  for (size_t j = 0; j < rest; ++j)
    codes[full * per + j] = uint16_t((byte >> (j * w)) & mask);
  return (byte >> (rest * w)) == 0;
}

} // namespace

void pack_codes(const uint16_t* codes, size_t n, uint32_t w, uint8_t* out) {
  assert(w >= 1 && w <= 16);
  switch (w) {
    case 2: return pack_small<2>(codes, n, out);
    case 4: return pack_small<4>(codes, n, out);
    case 8: return pack_small<8>(codes, n, out);
    default: break;
  }
  // Any width: eight codes fill exactly w bytes.
  const size_t groups = n / 8;
  for (size_t gi = 0; gi < groups; ++gi) {
    u128 acc = 0;
    for (uint32_t j = 0; j < 8; ++j)
      acc |= u128(codes[8 * gi + j]) << (j * w);
    std::memcpy(out + gi * w, &acc, w);
  }
  const size_t rest = n - groups * 8;
  if (rest != 0) {
    u128 acc = 0;
    for (size_t j = 0; j < rest; ++j)
      acc |= u128(codes[groups * 8 + j]) << (j * w);
    std::memcpy(out + groups * w, &acc, packed_bytes(rest, w));
  }
}

bool unpack_codes(const uint8_t* in, size_t n, uint32_t w, uint16_t* codes) {
  assert(w >= 1 && w <= 16);
  switch (w) {
    case 2: return unpack_small<2>(in, n, codes);
    case 4: return unpack_small<4>(in, n, codes);
    case 8: return unpack_small<8>(in, n, codes);
    default: break;
  }
  const uint32_t mask = (1u << w) - 1u;
  const size_t groups = n / 8;
  for (size_t gi = 0; gi < groups; ++gi) {
    const u128 acc = load_bytes(in + gi * w, w);
    for (uint32_t j = 0; j < 8; ++j)
      codes[8 * gi + j] = uint16_t(uint32_t(acc >> (j * w)) & mask);
  }
  const size_t rest = n - groups * 8;
  if (rest == 0)
    return true;
  const u128 acc = load_bytes(in + groups * w, packed_bytes(rest, w));
  for (size_t j = 0; j < rest; ++j)
    codes[groups * 8 + j] = uint16_t(uint32_t(acc >> (j * w)) & mask);
  return (acc >> (rest * w)) == 0;
}

} // namespace herd::kernels::compress
