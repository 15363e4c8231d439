#include "messages/payload_codec.hpp"

#include <cmath>
#include <cstring>
#include <string>

#include "kernels/compress/half.hpp"
#include "messages/capnp_io.hpp"
#include "messages/gradient_wire.hpp"

namespace herd::messages {

using detail::bad;

namespace {

size_t element_size(dense_format fmt) {
  return fmt == dense_format::f32 ? 4 : 2;
}

// First-segment size that holds the whole message, so building never reallocates.
uint32_t segment_words(uint32_t count, dense_format fmt) {
  return static_cast<uint32_t>((count * element_size(fmt) + 7) / 8 + 32);
}

uint16_t to_half(float x, dense_format fmt) {
  return fmt == dense_format::bf16 ? kernels::compress::float_to_bf16(x)
                                   : kernels::compress::float_to_fp16(x);
}

float from_half(uint16_t x, dense_format fmt) {
  return fmt == dense_format::bf16 ? kernels::compress::bf16_to_float(x)
                                   : kernels::compress::fp16_to_float(x);
}

void fill(capnp::Data::Builder dst, const float* values, uint32_t count, dense_format fmt) {
  if (fmt == dense_format::f32) {
    std::memcpy(dst.begin(), values, size_t{count} * 4);
    return;
  }
  auto* out = dst.begin();
  for (uint32_t i = 0; i < count; ++i) {
    uint16_t h = to_half(values[i], fmt);
    std::memcpy(out + 2 * size_t{i}, &h, 2);
  }
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
  if (reject_non_finite) {
    for (uint32_t i = 0; i < count; ++i) {
      uint16_t h;
      std::memcpy(&h, data.begin() + 2 * size_t{i}, 2);
      if (!std::isfinite(from_half(h, fmt)))
        return bad("payload holds a non-finite value at element " + std::to_string(i));
    }
  }
  for (uint32_t i = 0; i < count; ++i) {
    uint16_t h;
    std::memcpy(&h, data.begin() + 2 * size_t{i}, 2);
    out[i] = from_half(h, fmt);
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

} // namespace

uint16_t to_bf16(float x) {
  return kernels::compress::float_to_bf16(x);
}

float from_bf16(uint16_t x) {
  return kernels::compress::bf16_to_float(x);
}

std::vector<char> encode_slice(const slice_header& h, const float* values, dense_format fmt) {
  detail::flat_builder flat(segment_words(h.count, fmt));
  auto msg = flat.builder().initRoot<wire::ParamSlice>();
  msg.setFormatVersion(wire::FORMAT_VERSION);
  msg.setShard(h.shard);
  msg.setOffset(h.offset);
  msg.setCount(h.count);
  msg.setVersion(h.version);
  auto bytes = size_t{h.count} * element_size(fmt);
  auto v = msg.getValues();
  auto dst = fmt == dense_format::f32    ? v.initF32(bytes)
             : fmt == dense_format::bf16 ? v.initBf16(bytes)
                                         : v.initF16(bytes);
  fill(dst, values, h.count, fmt);
  return flat.finish();
}

expected<slice_header> decode_slice(const std::vector<char>& bytes,
                                    const slice_expectation& want, float* out) {
  dense_format fmt;
  return decode_slice_as_sent(bytes, want, out, nullptr, fmt);
}

expected<slice_header> decode_slice_as_sent(const std::vector<char>& bytes,
                                            const slice_expectation& want, float* out32,
                                            uint16_t* out16, dense_format& fmt) {
  if (auto err = detail::check_framing(bytes))
    return err;
  return detail::guarded([&]() -> expected<slice_header> {
    detail::flat_reader flat{bytes};
    capnp::FlatArrayMessageReader reader(flat.words(), flat.options());
    auto msg = reader.getRoot<wire::ParamSlice>();
    if (msg.getFormatVersion() != wire::FORMAT_VERSION)
      return bad("parameter slice has format version " + std::to_string(msg.getFormatVersion())
                 + ", expected " + std::to_string(wire::FORMAT_VERSION));
    slice_header h{msg.getShard(), msg.getOffset(), msg.getCount(), msg.getVersion()};
    if (auto err = check_place("parameter slice", h.shard, h.offset, h.count, want))
      return err;
    auto values = msg.getValues();
    capnp::Data::Reader data;
    switch (values.which()) {
      case wire::ParamSlice::Values::F32:
        data = values.getF32();
        fmt = dense_format::f32;
        break;
      case wire::ParamSlice::Values::BF16:
        data = values.getBf16();
        fmt = dense_format::bf16;
        break;
      case wire::ParamSlice::Values::F16:
        data = values.getF16();
        fmt = dense_format::f16;
        break;
      default:
        return bad("parameter slice has an unknown value encoding");
    }
    if (fmt != dense_format::f32 && out16) { // as sent: 2 bytes per value, unconverted
      const size_t want_bytes = size_t{h.count} * 2;
      if (data.size() != want_bytes)
        return bad("payload values hold " + std::to_string(data.size()) + " bytes, expected "
                   + std::to_string(want_bytes));
      std::memcpy(out16, data.begin(), want_bytes);
      return h;
    }
    if (auto err = decode_dense(data, fmt, h.count, out32, false))
      return err;
    return h;
  });
}

namespace detail {

void write_header(wire::Gradient::Builder msg, const gradient_header& h) {
  msg.setFormatVersion(wire::FORMAT_VERSION);
  msg.setWorker(h.worker);
  msg.setIncarnation(h.incarnation);
  msg.setClock(h.clock);
  msg.setBaseVersion(h.base_version);
  msg.setShard(h.shard);
  msg.setOffset(h.offset);
  msg.setCount(h.count);
  msg.setSamples(h.samples);
  msg.setDataKey(h.data_key);
}

expected<gradient_header> read_header(wire::Gradient::Reader msg,
                                      const slice_expectation& want) {
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
  h.data_key = msg.getDataKey();
  if (auto err = check_place("gradient", h.shard, h.offset, h.count, want))
    return err;
  if (h.samples == 0)
    return bad("gradient covers 0 samples");
  return h;
}

} // namespace detail

std::vector<char> encode_gradient(const gradient_header& h, const float* values,
                                  dense_format fmt) {
  detail::flat_builder flat(segment_words(h.count, fmt));
  auto msg = flat.builder().initRoot<wire::Gradient>();
  detail::write_header(msg, h);
  auto bytes = size_t{h.count} * element_size(fmt);
  auto enc = msg.getEncoding();
  auto dst = fmt == dense_format::f32    ? enc.initDenseF32(bytes)
             : fmt == dense_format::bf16 ? enc.initDenseBf16(bytes)
                                         : enc.initDenseF16(bytes);
  fill(dst, values, h.count, fmt);
  return flat.finish();
}

expected<gradient_header> decode_gradient(const std::vector<char>& bytes,
                                          const slice_expectation& want, float* out) {
  return detail::read_gradient(bytes, want, [&](wire::Gradient::Reader msg,
                                                 const gradient_header& h)
                                               -> expected<gradient_header> {
    auto enc = msg.getEncoding();
    caf::error err;
    switch (enc.which()) {
      case wire::Gradient::Encoding::DENSE_F32:
        err = decode_dense(enc.getDenseF32(), dense_format::f32, h.count, out, true);
        break;
      case wire::Gradient::Encoding::DENSE_BF16:
        err = decode_dense(enc.getDenseBf16(), dense_format::bf16, h.count, out, true);
        break;
      case wire::Gradient::Encoding::DENSE_F16:
        err = decode_dense(enc.getDenseF16(), dense_format::f16, h.count, out, true);
        break;
      default:
        err = bad("gradient is compressed: decode it with decode_compressed_gradient");
    }
    if (err)
      return err;
    return h;
  });
}

expected<gradient_header> view_dense_gradient(const std::vector<char>& bytes,
                                              const slice_expectation& want,
                                              const float*& values) {
  values = nullptr;
  if (reinterpret_cast<uintptr_t>(bytes.data()) % sizeof(capnp::word) != 0)
    return bad("gradient bytes are not word-aligned"); // flat_reader would read a copy
  return detail::read_gradient(bytes, want, [&](wire::Gradient::Reader msg,
                                                 const gradient_header& h)
                                               -> expected<gradient_header> {
    auto enc = msg.getEncoding();
    if (enc.which() != wire::Gradient::Encoding::DENSE_F32)
      return h;
    auto data = enc.getDenseF32();
    if (data.size() != size_t{h.count} * 4)
      return bad("payload values hold " + std::to_string(data.size()) + " bytes, expected "
                 + std::to_string(size_t{h.count} * 4));
    values = reinterpret_cast<const float*>(data.begin()); // 8-byte aligned inside the words
    return h;
  });
}

} // namespace herd::messages
