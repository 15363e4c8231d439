// Writes seed inputs for payload_fuzz: one valid gradient per codec and one parameter slice,
// so the fuzzer starts from well-formed messages and mutates their fields.
#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include "kernels/compress/codec_registry.hpp"
#include "messages/payload_codec.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: payload_corpus DIR\n");
    return 2;
  }
  std::string dir = argv[1];
  constexpr uint32_t count = 4096;
  std::mt19937_64 gen{1};
  std::normal_distribution<float> dist;
  std::vector<float> g(count);
  for (auto& x : g)
    x = dist(gen);
  herd::messages::gradient_header h;
  h.count = count;
  h.samples = 8;
  auto write = [&](const std::string& name, const std::vector<char>& bytes) {
    std::ofstream(dir + "/" + name, std::ios::binary).write(bytes.data(), bytes.size());
  };
  auto registry = herd::kernels::compress::default_codecs();
  herd::kernels::compress::codec_params params;
  params.density = 0.01;
  for (const auto& name : registry.names()) {
    auto c = registry.make(name, params);
    herd::kernels::compress::encoded e;
    c->encode(g.data(), count, 3, e);
    write("gradient-" + name, herd::messages::encode_gradient(h, e));
  }
  write("slice-f16", herd::messages::encode_slice({0, 0, count, 1}, g.data(),
                                                  herd::messages::dense_format::f16));
  return 0;
}
