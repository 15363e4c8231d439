#include "messages/payload_codec.hpp"

#include <cmath>
#include <cstring>
#include <string>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/io.h>

#include "messages/schema/payload.capnp.h"

namespace herd::messages {

namespace {

constexpr uint64_t max_words = uint64_t{1} << 31; // 16 GiB: above any slice we send

size_t element_size(dense_format fmt) {
  return fmt == dense_format::f32 ? 4 : 2;
}

// First-segment size that holds the whole message, so building never reallocates.
uint32_t segment_words(uint32_t count, dense_format fmt) {
  return static_cast<uint32_t>((count * element_size(fmt) + 7) / 8 + 32);
}

void fill(capnp::Data::Builder dst, const float* values, uint32_t count, dense_format fmt) {
  if (fmt == dense_format::f32) {
    std::memcpy(dst.begin(), values, size_t{count} * 4);
    return;
  }
  auto* out = dst.begin();
  for (uint32_t i = 0; i < count; ++i) {
    uint16_t b = to_bf16(values[i]);
    std::memcpy(out + 2 * size_t{i}, &b, 2);
  }
}

std::vector<char> flatten(capnp::MallocMessageBuilder& builder) {
  auto words = capnp::computeSerializedSizeInWords(builder);
  std::vector<char> bytes(words * sizeof(capnp::word));
  kj::ArrayOutputStream out(
    kj::arrayPtr(reinterpret_cast<kj::byte*>(bytes.data()), bytes.size()));
  capnp::writeMessage(out, builder);
  return bytes;
}

// Reads `bytes` as a flat message; copies to an aligned buffer when the vector's is not.
class flat_reader {
public:
  explicit flat_reader(const std::vector<char>& bytes) {
    const char* data = bytes.data();
    if (reinterpret_cast<uintptr_t>(data) % sizeof(capnp::word) != 0) {
      copy_ = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
      std::memcpy(copy_.begin(), data, copy_.size() * sizeof(capnp::word));
      data = reinterpret_cast<const char*>(copy_.begin());
    }
    words_ = kj::arrayPtr(reinterpret_cast<const capnp::word*>(data),
                          bytes.size() / sizeof(capnp::word));
  }
  kj::ArrayPtr<const capnp::word> words() const { return words_; }

private:
  kj::Array<capnp::word> copy_;
  kj::ArrayPtr<const capnp::word> words_;
};

capnp::ReaderOptions reader_options() {
  capnp::ReaderOptions opts;
  opts.traversalLimitInWords = max_words;
  return opts;
}

caf::error bad(std::string what) {
  return make_error(errc::payload_invalid, std::move(what));
}

// Validates and decodes dense values; nothing is written to `out` unless all checks pass.
caf::error decode_dense(capnp::Data::Reader data, dense_format fmt, uint32_t count, float* out,
                        bool reject_non_finite) {
  size_t want = size_t{count} * element_size(fmt);
  if (data.size() != want)
    return bad("payload values hold " + std::to_string(data.size()) + " bytes, expected "
               + std::to_string(want));
  if (fmt == dense_format::f32) {
    if (reject_non_finite) {
      for (uint32_t i = 0; i < count; ++i) {
        float v;
        std::memcpy(&v, data.begin() + 4 * size_t{i}, 4);
        if (!std::isfinite(v))
          return bad("payload holds a non-finite value at element " + std::to_string(i));
      }
    }
    std::memcpy(out, data.begin(), want);
    return {};
  }
  for (uint32_t i = 0; i < count; ++i) {
    uint16_t b;
    std::memcpy(&b, data.begin() + 2 * size_t{i}, 2);
    float v = from_bf16(b);
    if (reject_non_finite && !std::isfinite(v))
      return bad("payload holds a non-finite value at element " + std::to_string(i));
    out[i] = v;
  }
  return {};
}

caf::error check_place(const char* what, uint32_t shard, uint64_t offset, uint32_t count,
                       const slice_expectation& want) {
  if (shard != want.shard || offset != want.offset || count != want.count)
    return bad(std::string{what} + " for shard " + std::to_string(shard) + " at offset "
               + std::to_string(offset) + " with " + std::to_string(count)
               + " elements, expected shard " + std::to_string(want.shard) + " at offset "
               + std::to_string(want.offset) + " with " + std::to_string(want.count));
  return {};
}

template <class F>
auto guarded(F f) -> decltype(f()) {
  // Cap'n Proto reports malformed input by throwing kj::Exception; this is the one place
  // where that becomes an error value.
  try {
    return f();
  } catch (const kj::Exception& e) {
    return bad(std::string{"malformed payload: "} + e.getDescription().cStr());
  }
}

} // namespace

uint16_t to_bf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0)
    return static_cast<uint16_t>((bits >> 16) | 0x0040u); // quiet NaN
  uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

float from_bf16(uint16_t x) {
  uint32_t bits = uint32_t{x} << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::vector<char> encode_slice(const slice_header& h, const float* values, dense_format fmt) {
  capnp::MallocMessageBuilder builder(segment_words(h.count, fmt));
  auto msg = builder.initRoot<wire::ParamSlice>();
  msg.setFormatVersion(wire::FORMAT_VERSION);
  msg.setShard(h.shard);
  msg.setOffset(h.offset);
  msg.setCount(h.count);
  msg.setVersion(h.version);
  auto bytes = size_t{h.count} * element_size(fmt);
  auto dst = fmt == dense_format::f32 ? msg.getValues().initF32(bytes)
                                      : msg.getValues().initBf16(bytes);
  fill(dst, values, h.count, fmt);
  return flatten(builder);
}

expected<slice_header> decode_slice(const std::vector<char>& bytes,
                                    const slice_expectation& want, float* out) {
  return guarded([&]() -> expected<slice_header> {
    if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0)
      return bad("malformed payload: " + std::to_string(bytes.size())
                 + " bytes is not a whole number of 8-byte words");
    flat_reader flat{bytes};
    capnp::FlatArrayMessageReader reader(flat.words(), reader_options());
    auto msg = reader.getRoot<wire::ParamSlice>();
    if (msg.getFormatVersion() != wire::FORMAT_VERSION)
      return bad("parameter slice has format version " + std::to_string(msg.getFormatVersion())
                 + ", expected " + std::to_string(wire::FORMAT_VERSION));
    slice_header h{msg.getShard(), msg.getOffset(), msg.getCount(), msg.getVersion()};
    if (auto err = check_place("parameter slice", h.shard, h.offset, h.count, want))
      return err;
    auto values = msg.getValues();
    caf::error err;
    switch (values.which()) {
      case wire::ParamSlice::Values::F32:
        err = decode_dense(values.getF32(), dense_format::f32, h.count, out, false);
        break;
      case wire::ParamSlice::Values::BF16:
        err = decode_dense(values.getBf16(), dense_format::bf16, h.count, out, false);
        break;
      default:
        err = bad("parameter slice has an unknown value encoding");
    }
    if (err)
      return err;
    return h;
  });
}

std::vector<char> encode_gradient(const gradient_header& h, const float* values,
                                  dense_format fmt) {
  capnp::MallocMessageBuilder builder(segment_words(h.count, fmt));
  auto msg = builder.initRoot<wire::Gradient>();
  msg.setFormatVersion(wire::FORMAT_VERSION);
  msg.setWorker(h.worker);
  msg.setIncarnation(h.incarnation);
  msg.setClock(h.clock);
  msg.setBaseVersion(h.base_version);
  msg.setShard(h.shard);
  msg.setOffset(h.offset);
  msg.setCount(h.count);
  msg.setSamples(h.samples);
  auto bytes = size_t{h.count} * element_size(fmt);
  auto dst = fmt == dense_format::f32 ? msg.getEncoding().initDenseF32(bytes)
                                      : msg.getEncoding().initDenseBf16(bytes);
  fill(dst, values, h.count, fmt);
  return flatten(builder);
}

expected<gradient_header> decode_gradient(const std::vector<char>& bytes,
                                          const slice_expectation& want, float* out) {
  return guarded([&]() -> expected<gradient_header> {
    if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0)
      return bad("malformed payload: " + std::to_string(bytes.size())
                 + " bytes is not a whole number of 8-byte words");
    flat_reader flat{bytes};
    capnp::FlatArrayMessageReader reader(flat.words(), reader_options());
    auto msg = reader.getRoot<wire::Gradient>();
    if (msg.getFormatVersion() != wire::FORMAT_VERSION)
      return bad("gradient has format version " + std::to_string(msg.getFormatVersion())
                 + ", expected " + std::to_string(wire::FORMAT_VERSION));
    gradient_header h;
    h.worker = msg.getWorker();
    h.incarnation = msg.getIncarnation();
    h.clock = msg.getClock();
    h.base_version = msg.getBaseVersion();
    h.shard = msg.getShard();
    h.offset = msg.getOffset();
    h.count = msg.getCount();
    h.samples = msg.getSamples();
    if (auto err = check_place("gradient", h.shard, h.offset, h.count, want))
      return err;
    if (h.samples == 0)
      return bad("gradient covers 0 samples");
    auto enc = msg.getEncoding();
    caf::error err;
    switch (enc.which()) {
      case wire::Gradient::Encoding::DENSE_F32:
        err = decode_dense(enc.getDenseF32(), dense_format::f32, h.count, out, true);
        break;
      case wire::Gradient::Encoding::DENSE_BF16:
        err = decode_dense(enc.getDenseBf16(), dense_format::bf16, h.count, out, true);
        break;
      default:
        err = bad("gradient has an unknown encoding");
    }
    if (err)
      return err;
    return h;
  });
}

} // namespace herd::messages
