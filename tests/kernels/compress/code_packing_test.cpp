#include "kernels/compress/code_packing.hpp"

#include <vector>

#include <catch2/catch.hpp>

#include "tests/kernels/test_util.hpp"

using namespace herd::kernels::compress;
using herd::kernels::test::test_seed;

namespace {

// Bit-at-a-time reference: code i at stream bits [i*w, i*w + w).
std::vector<uint8_t> ref_pack(const std::vector<uint16_t>& codes,
                              uint32_t w) {
  std::vector<uint8_t> out(packed_bytes(codes.size(), w), 0);
  for (size_t i = 0; i < codes.size(); ++i)
    for (uint32_t b = 0; b < w; ++b)
      if ((codes[i] >> b) & 1u) {
        const size_t bit = i * w + b;
        out[bit / 8] |= uint8_t(1u << (bit % 8));
      }
  return out;
}

} // namespace

TEST_CASE("code_packing: every width round trips like the bitwise reference",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (uint32_t w = 1; w <= 16; ++w) {
    for (size_t n : {size_t(1), size_t(3), size_t(7), size_t(8), size_t(9),
                     size_t(17), size_t(255), size_t(256), size_t(257)}) {
      INFO("w=" << w << " n=" << n);
      std::vector<uint16_t> codes(n);
      for (auto& c : codes)
        c = uint16_t(rng() & ((1u << w) - 1u));
      std::vector<uint8_t> packed(packed_bytes(n, w), 0xAA);
      pack_codes(codes.data(), n, w, packed.data());
      REQUIRE(packed == ref_pack(codes, w));
      std::vector<uint16_t> back(n, 0xffff);
      CHECK(unpack_codes(packed.data(), n, w, back.data()));
      CHECK(back == codes);
      // A set padding bit is reported (when the last byte has padding).
      if ((n * w) % 8 != 0) {
        packed.back() |= 0x80;
        CHECK(!unpack_codes(packed.data(), n, w, back.data()));
      }
    }
  }
}
