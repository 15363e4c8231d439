#pragma once

// Packs w-bit codes (1 <= w <= 16) into a little-endian bit stream and back:
// code i occupies stream bits [i*w, i*w + w), stream bit j being bit j%8 of
// byte j/8; ceil(n*w/8) bytes, padding bits 0. Eight codes fill exactly w
// bytes, so both directions work a group of eight at a time.

#include <cstddef>
#include <cstdint>

namespace herd::kernels::compress {

inline size_t packed_bytes(size_t n, uint32_t w) {
  return (n * w + 7) / 8;
}

// Writes packed_bytes(n, w) bytes to out. Codes must fit in w bits.
void pack_codes(const uint16_t* codes, size_t n, uint32_t w, uint8_t* out);

// Reads n codes from packed_bytes(n, w) bytes. Returns false when the
// padding bits after the last code are not 0 (the codes are still written).
bool unpack_codes(const uint8_t* in, size_t n, uint32_t w, uint16_t* codes);

} // namespace herd::kernels::compress
