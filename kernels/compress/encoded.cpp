#include "kernels/compress/encoded.hpp"

namespace herd::kernels::compress {

std::string_view kind_name(codec_kind k) {
  switch (k) {
    case codec_kind::dense_f32: return "dense_f32";
    case codec_kind::fp16: return "fp16";
    case codec_kind::bf16: return "bf16";
    case codec_kind::int8: return "int8";
    case codec_kind::topk: return "topk";
    case codec_kind::randk: return "randk";
    case codec_kind::qsgd: return "qsgd";
    case codec_kind::sign: return "sign";
  }
  return "unknown";
}

size_t encoded_bytes(const encoded& e) {
  return encoded_header_bytes + 4 * e.indices.size() + e.data.size()
         + 4 * e.scales.size();
}

size_t dense_bytes(uint32_t count) {
  return encoded_header_bytes + 4 * size_t(count);
}

} // namespace herd::kernels::compress
