// Compressed gradients: kernels::compress::encoded <-> the Gradient message's encodings.
#include <cstring>

#include "messages/capnp_io.hpp"
#include "messages/gradient_wire.hpp"

namespace herd::messages {

using detail::bad;
using kernels::compress::codec_kind;
using kernels::compress::encoded;

namespace {

void put_data(capnp::Data::Builder dst, const std::vector<uint8_t>& src) {
  if (!src.empty())
    std::memcpy(dst.begin(), src.data(), src.size());
}

template <class Reader>
void get_data(Reader src, std::vector<uint8_t>& dst) {
  dst.assign(src.begin(), src.end());
}

void put_scales(capnp::List<float>::Builder dst, const std::vector<float>& src) {
  for (size_t i = 0; i < src.size(); ++i)
    dst.set(static_cast<unsigned>(i), src[i]);
}

void get_scales(capnp::List<float>::Reader src, std::vector<float>& dst) {
  dst.resize(src.size());
  for (unsigned i = 0; i < src.size(); ++i)
    dst[i] = src[i];
}

// Indices as varint gaps: strictly increasing indices cost about log128(n/k) bytes each.
// Requires strictly increasing indices (what a valid top-k encoding holds).
std::vector<uint8_t> encode_gaps(const std::vector<uint32_t>& indices) {
  std::vector<uint8_t> out;
  out.reserve(indices.size() * 2);
  uint64_t prev_plus_one = 0;
  for (auto idx : indices) {
    uint64_t gap = uint64_t{idx} - prev_plus_one; // indices strictly increase: no wrap
    prev_plus_one = uint64_t{idx} + 1;
    do {
      uint8_t b = gap & 0x7f;
      gap >>= 7;
      out.push_back(static_cast<uint8_t>(b | (gap ? 0x80 : 0)));
    } while (gap);
  }
  return out;
}

// Refuses truncated varints and indices past 2^32; order and bounds are the codec's to check.
caf::error decode_gaps(capnp::Data::Reader src, std::vector<uint32_t>& indices) {
  indices.clear();
  uint64_t next = 0; // index[i-1] + 1
  size_t i = 0;
  while (i < src.size()) {
    uint64_t gap = 0;
    int shift = 0;
    for (;;) {
      if (i == src.size() || shift > 28)
        return bad("top-k gaps hold a truncated or oversized varint");
      uint8_t b = src[i++];
      gap |= uint64_t{b & 0x7fu} << shift;
      shift += 7;
      if (!(b & 0x80))
        break;
    }
    uint64_t idx = next + gap;
    if (idx > UINT32_MAX)
      return bad("top-k gaps point past 2^32");
    indices.push_back(static_cast<uint32_t>(idx));
    next = idx + 1;
  }
  return {};
}

void write_quantized(wire::Quantized::Builder q, const encoded& e) {
  q.setBucket(e.bucket);
  q.setLevels(e.levels);
  put_scales(q.initScales(static_cast<unsigned>(e.scales.size())), e.scales);
  put_data(q.initCodes(e.data.size()), e.data);
}

void read_quantized(wire::Quantized::Reader q, encoded& e) {
  e.bucket = q.getBucket();
  e.levels = q.getLevels();
  get_scales(q.getScales(), e.scales);
  get_data(q.getCodes(), e.data);
}

} // namespace

std::vector<char> encode_gradient(const gradient_header& h, const encoded& e) {
  auto words = (e.data.size() + 5 * e.indices.size() + 4 * e.scales.size()) / 8 + 64;
  capnp::MallocMessageBuilder builder(static_cast<unsigned>(words));
  auto msg = builder.initRoot<wire::Gradient>();
  detail::write_header(msg, h);
  auto enc = msg.getEncoding();
  switch (e.kind) {
    case codec_kind::dense_f32:
      put_data(enc.initDenseF32(e.data.size()), e.data);
      break;
    case codec_kind::bf16:
      put_data(enc.initDenseBf16(e.data.size()), e.data);
      break;
    case codec_kind::fp16:
      put_data(enc.initDenseF16(e.data.size()), e.data);
      break;
    case codec_kind::int8:
      write_quantized(enc.initInt8(), e);
      break;
    case codec_kind::qsgd:
      write_quantized(enc.initQsgd(), e);
      break;
    case codec_kind::topk: {
      auto s = enc.initTopk();
      auto gaps = encode_gaps(e.indices);
      put_data(s.initGaps(gaps.size()), gaps);
      put_data(s.initValues(e.data.size()), e.data);
      break;
    }
    case codec_kind::randk: {
      auto s = enc.initRandk();
      s.setSeed(e.seed);
      put_data(s.initValues(e.data.size()), e.data);
      break;
    }
    case codec_kind::sign: {
      auto s = enc.initSign();
      s.setBucket(e.bucket);
      put_scales(s.initScales(static_cast<unsigned>(e.scales.size())), e.scales);
      put_data(s.initBits(e.data.size()), e.data);
      break;
    }
  }
  return detail::flatten(builder);
}

expected<gradient_header> decode_gradient(const std::vector<char>& bytes,
                                          const slice_expectation& want, encoded& out) {
  return detail::read_gradient(bytes, want, [&](wire::Gradient::Reader msg,
                                                 const gradient_header& h)
                                               -> expected<gradient_header> {
    out = encoded{};
    out.count = h.count;
    auto enc = msg.getEncoding();
    switch (enc.which()) {
      case wire::Gradient::Encoding::DENSE_F32:
        out.kind = codec_kind::dense_f32;
        get_data(enc.getDenseF32(), out.data);
        break;
      case wire::Gradient::Encoding::DENSE_BF16:
        out.kind = codec_kind::bf16;
        get_data(enc.getDenseBf16(), out.data);
        break;
      case wire::Gradient::Encoding::DENSE_F16:
        out.kind = codec_kind::fp16;
        get_data(enc.getDenseF16(), out.data);
        break;
      case wire::Gradient::Encoding::INT8:
        out.kind = codec_kind::int8;
        read_quantized(enc.getInt8(), out);
        break;
      case wire::Gradient::Encoding::QSGD:
        out.kind = codec_kind::qsgd;
        read_quantized(enc.getQsgd(), out);
        break;
      case wire::Gradient::Encoding::TOPK: {
        out.kind = codec_kind::topk;
        auto s = enc.getTopk();
        if (auto err = decode_gaps(s.getGaps(), out.indices))
          return err;
        get_data(s.getValues(), out.data);
        break;
      }
      case wire::Gradient::Encoding::RANDK:
        out.kind = codec_kind::randk;
        out.seed = enc.getRandk().getSeed();
        get_data(enc.getRandk().getValues(), out.data);
        break;
      case wire::Gradient::Encoding::SIGN:
        out.kind = codec_kind::sign;
        out.bucket = enc.getSign().getBucket();
        get_scales(enc.getSign().getScales(), out.scales);
        get_data(enc.getSign().getBits(), out.data);
        break;
      default:
        return bad("gradient has an unknown encoding");
    }
    return h;
  });
}

} // namespace herd::messages
