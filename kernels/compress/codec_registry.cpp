#include "kernels/compress/codec_registry.hpp"

#include "kernels/compress/bf16_codec.hpp"
#include "kernels/compress/dense_codec.hpp"
#include "kernels/compress/fp16_codec.hpp"
#include "kernels/compress/int8_codec.hpp"
#include "kernels/compress/qsgd_codec.hpp"
#include "kernels/compress/randk_codec.hpp"
#include "kernels/compress/sign_codec.hpp"
#include "kernels/compress/topk_codec.hpp"

namespace herd::kernels::compress {

void codec_registry::add(std::string name, factory f) {
  factories_[std::move(name)] = std::move(f);
}

std::unique_ptr<codec> codec_registry::make(const std::string& name,
                                            const codec_params& p) const {
  auto it = factories_.find(name);
  return it == factories_.end() ? nullptr : it->second(p);
}

bool codec_registry::contains(const std::string& name) const {
  return factories_.count(name) != 0;
}

std::vector<std::string> codec_registry::names() const {
  std::vector<std::string> out;
  out.reserve(factories_.size());
  for (const auto& [name, f] : factories_)
    out.push_back(name);
  return out;
}

codec_registry default_codecs() {
  codec_registry r;
  r.add("dense_f32",
        [](const codec_params&) { return std::make_unique<dense_codec>(); });
  r.add("fp16",
        [](const codec_params&) { return std::make_unique<fp16_codec>(); });
  r.add("bf16",
        [](const codec_params&) { return std::make_unique<bf16_codec>(); });
  r.add("int8", [](const codec_params& p) {
    return std::make_unique<int8_codec>(p);
  });
  r.add("topk", [](const codec_params& p) {
    return std::make_unique<topk_codec>(p);
  });
  r.add("randk", [](const codec_params& p) {
    return std::make_unique<randk_codec>(p);
  });
  r.add("qsgd", [](const codec_params& p) {
    return std::make_unique<qsgd_codec>(p);
  });
  r.add("sign",
        [](const codec_params& p) { return std::make_unique<sign_codec>(p); });
  return r;
}

} // namespace herd::kernels::compress
