#pragma once

// Codec factories by name, assembled explicitly: main() calls
// default_codecs() (and may add its own) and passes the registry down; there
// is no static self-registration.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/compress/codec.hpp"

namespace herd::kernels::compress {

class codec_registry {
public:
  using factory = std::function<std::unique_ptr<codec>(const codec_params&)>;

  // Adds or replaces the factory for name.
  void add(std::string name, factory f);

  // A new codec, or nullptr when name is not registered (config validation
  // checks names() first and reports the JSON path).
  std::unique_ptr<codec> make(const std::string& name,
                              const codec_params& p) const;

  bool contains(const std::string& name) const;

  // Registered names, sorted.
  std::vector<std::string> names() const;

private:
  std::map<std::string, factory> factories_;
};

// dense_f32, fp16, bf16, int8, topk, randk, qsgd, sign (each name equals
// kind_name() of the codec it makes).
codec_registry default_codecs();

} // namespace herd::kernels::compress
