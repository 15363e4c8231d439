#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "kernels/compress/codec.hpp"
#include "kernels/compress/codec_registry.hpp"
#include "messages/payload_codec.hpp"

using namespace herd::messages;
namespace compress = herd::kernels::compress;

namespace {

std::vector<float> random_values(size_t n, uint64_t seed) {
  std::mt19937_64 gen{seed};
  std::normal_distribution<float> dist{0.0f, 1.0f};
  std::vector<float> v(n);
  for (auto& x : v)
    x = dist(gen);
  return v;
}

gradient_header header_for(uint32_t count) {
  gradient_header h;
  h.worker = 2;
  h.clock = 9;
  h.shard = 0;
  h.offset = 64;
  h.count = count;
  h.samples = 32;
  return h;
}

} // namespace

TEST_CASE("payload: every codec's encoding crosses the wire unchanged", "[messages]") {
  auto registry = compress::default_codecs();
  compress::codec_params params;
  params.density = 0.05;
  for (const auto& name : registry.names()) {
    for (uint32_t n : {1u, 7u, 4097u}) {
      INFO("codec " << name << ", " << n << " elements");
      auto c = registry.make(name, params);
      REQUIRE(c);
      auto g = random_values(n, n + 1);
      compress::encoded e;
      c->encode(g.data(), n, 1234, e);
      auto bytes = encode_gradient(header_for(n), e);
      compress::encoded got;
      auto h = decode_gradient(bytes, {0, 64, n}, got);
      REQUIRE(h);
      CHECK(h->clock == 9);
      CHECK(got.kind == e.kind);
      CHECK(got.count == n);
      CHECK(got.indices == e.indices);
      CHECK(got.data == e.data);
      CHECK(got.scales == e.scales);
      CHECK(got.seed == e.seed);
      std::vector<float> direct(n), wired(n);
      c->decode(e, direct.data());
      REQUIRE_FALSE(compress::validate_and_decode(*c, got, n, wired.data()));
      CHECK(direct == wired);
    }
  }
}

TEST_CASE("payload: dense gradients decode as the dense kinds", "[messages]") {
  auto v = random_values(100, 3);
  for (auto fmt : {dense_format::f32, dense_format::bf16, dense_format::f16}) {
    compress::encoded got;
    REQUIRE(decode_gradient(encode_gradient(header_for(100), v.data(), fmt), {0, 64, 100}, got));
    CHECK(got.data.size() == (fmt == dense_format::f32 ? 400u : 200u));
  }
}

TEST_CASE("payload: fp16 parameter slices stay within half precision", "[messages]") {
  auto v = random_values(1000, 4);
  auto bytes = encode_slice({0, 64, 1000, 3}, v.data(), dense_format::f16);
  std::vector<float> out(1000);
  REQUIRE(decode_slice(bytes, {0, 64, 1000}, out.data()));
  for (size_t i = 0; i < v.size(); ++i)
    REQUIRE(std::fabs(out[i] - v[i]) <= std::fabs(v[i]) * (1.0f / 2048.0f) + 1e-7f);
}

TEST_CASE("payload: a compressed gradient that is inconsistent is refused before decoding",
          "[messages]") {
  auto registry = compress::default_codecs();
  compress::codec_params params;
  params.density = 0.1;
  auto topk = registry.make("topk", params);
  auto g = random_values(500, 5);
  compress::encoded e;
  topk->encode(g.data(), 500, 1, e);
  SECTION("an index out of range") {
    e.indices.back() = 500;
  }
  SECTION("values and indices of different lengths") {
    e.data.resize(e.data.size() - 4);
  }
  SECTION("a repeated index") {
    e.indices[1] = e.indices[0];
    e.data.resize(4 * e.indices.size());
  }
  auto bytes = encode_gradient(header_for(500), e);
  compress::encoded got;
  std::vector<float> out(500, -3.0f);
  // Refused on the wire (a gap cannot go backwards) or, when it parses, by the codec.
  if (decode_gradient(bytes, {0, 64, 500}, got))
    CHECK(compress::validate_and_decode(*topk, got, 500, out.data()));
  CHECK(out == std::vector<float>(500, -3.0f));
}

TEST_CASE("payload: top-k indices travel as varint gaps, about 2 bytes each at 0.1%",
          "[messages]") {
  auto registry = compress::default_codecs();
  compress::codec_params params;
  params.density = 0.001;
  auto topk = registry.make("topk", params);
  auto g = random_values(235146, 9);
  compress::encoded e;
  topk->encode(g.data(), 235146, 1, e);
  auto bytes = encode_gradient(header_for(235146), e);
  // 235 values x (4 bytes + ~2 bytes of gap) + header: over 500x smaller than fp32.
  CHECK(bytes.size() * 500 < 235146 * 4);
  compress::encoded got;
  REQUIRE(decode_gradient(bytes, {0, 64, 235146}, got));
  CHECK(got.indices == e.indices);
}

TEST_CASE("payload: malformed top-k gaps are refused", "[messages]") {
  auto registry = compress::default_codecs();
  compress::codec_params params;
  params.density = 0.1;
  auto topk = registry.make("topk", params);
  auto g = random_values(300, 10);
  compress::encoded e;
  topk->encode(g.data(), 300, 1, e);
  e.indices.back() = 0xfffffff0u; // far past count, still increasing
  compress::encoded got;
  auto h = decode_gradient(encode_gradient(header_for(300), e), {0, 64, 300}, got);
  if (h) // decodes as numbers: the codec refuses the bound
    CHECK(topk->validate(got, 300));
}

TEST_CASE("payload: truncated compressed gradients are refused", "[messages]") {
  auto registry = compress::default_codecs();
  auto qsgd = registry.make("qsgd", compress::codec_params{});
  auto g = random_values(3000, 6);
  compress::encoded e;
  qsgd->encode(g.data(), 3000, 7, e);
  auto bytes = encode_gradient(header_for(3000), e);
  compress::encoded got;
  for (size_t cut : {size_t{8}, bytes.size() / 2, bytes.size() - 8}) {
    INFO("cut to " << cut << " bytes");
    std::vector<char> part(bytes.begin(), bytes.begin() + cut);
    auto h = decode_gradient(part, {0, 64, 3000}, got);
    if (h) // a cut that still parses must leave an encoding the codec refuses
      CHECK(qsgd->validate(got, 3000));
  }
}
