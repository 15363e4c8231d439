// libFuzzer target: arbitrary bytes as a gradient or parameter-slice payload. Every input must
// be refused with an error or decoded into a finite, validated gradient — never a crash, an
// out-of-bounds access (run under ASan/UBSan) or an exception escaping.
// Build and run: scripts/fuzz-payload.sh [SECONDS]
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "actors/gradient_codec.hpp"
#include "messages/payload_codec.hpp"

namespace {

constexpr uint32_t count = 4096;

herd::actors::gradient_decoder& decoder() {
  static herd::actors::gradient_decoder dec{
    std::make_shared<herd::kernels::compress::codec_registry>(
      herd::kernels::compress::default_codecs())};
  return dec;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<char> bytes(reinterpret_cast<const char*>(data),
                          reinterpret_cast<const char*>(data) + size);
  std::vector<float> out(count);
  herd::messages::slice_expectation want{0, 0, count};
  if (auto h = decoder().decode(bytes, want, out.data()))
    for (float v : out)
      if (!std::isfinite(v))
        __builtin_trap(); // the decoder promised finite values
  herd::messages::decode_slice(bytes, want, out.data());
  return 0;
}
