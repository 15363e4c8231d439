#include "kernels/compress/codec_registry.hpp"

#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "kernels/compress/dense_codec.hpp"
#include "tests/kernels/compress/compress_test_util.hpp"

using namespace herd::kernels::compress;
using namespace herd::kernels::compress::test;
using herd::kernels::test::random_floats;
using herd::kernels::test::test_seed;

TEST_CASE("codec_registry: default codecs are the eight named kinds",
          "[kernels]") {
  const auto reg = default_codecs();
  CHECK(reg.names()
        == std::vector<std::string>{"bf16", "dense_f32", "fp16", "int8",
                                    "qsgd", "randk", "sign", "topk"});
  for (const auto& name : reg.names()) {
    auto c = reg.make(name, {});
    REQUIRE(c);
    CHECK(c->name() == name);
    CHECK(kind_name(c->kind()) == name);
  }
  CHECK(reg.make("zstd", {}) == nullptr);
  CHECK(!reg.contains("zstd"));
}

TEST_CASE("codec_registry: add registers and replaces factories",
          "[kernels]") {
  codec_registry reg;
  CHECK(reg.names().empty());
  int made = 0;
  reg.add("mine", [&](const codec_params&) {
    ++made;
    return std::make_unique<dense_codec>();
  });
  CHECK(reg.make("mine", {}) != nullptr);
  CHECK(made == 1);
  reg.add("mine", [](const codec_params&) { return nullptr; });
  CHECK(reg.make("mine", {}) == nullptr);
  CHECK(reg.names() == std::vector<std::string>{"mine"});
}

TEST_CASE("codec: every codec handles an empty slice and reused buffers",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const auto reg = default_codecs();
  codec_params p;
  p.bucket = test_bucket;
  auto g = random_floats(rng, 1000);
  for (const auto& name : reg.names()) {
    INFO("codec " << name);
    auto c = reg.make(name, p);
    encoded e;
    c->encode(g.data(), 0, 1, e);
    REQUIRE(!c->validate(e, 0));
    c->decode(e, nullptr);
    // A buffer last filled by every other codec is overwritten in full.
    for (const auto& other : reg.names()) {
      reg.make(other, p)->encode(g.data(), 1000, 3, e);
      c->encode(g.data(), 257, 3, e);
      INFO("after " << other << ": " << c->validate(e, 257).value_or("ok"));
      CHECK(!c->validate(e, 257));
    }
  }
}

TEST_CASE(
  "encoded_bytes: counts the header and 4 per index and scale plus the data",
  "[kernels]") {
  const auto seed = test_seed();
  std::mt19937_64 rng(seed);
  const uint32_t n = 100000;
  auto g = random_floats(rng, n);
  const auto reg = default_codecs();
  codec_params p; // density 0.01, bucket 512, levels 4
  auto bytes = [&](const std::string& name) {
    encoded e;
    reg.make(name, p)->encode(g.data(), n, 1, e);
    return encoded_bytes(e);
  };
  const size_t buckets = (n + 511) / 512; // 196
  CHECK(dense_bytes(n) == 32 + 400000);
  CHECK(bytes("dense_f32") == dense_bytes(n));
  CHECK(bytes("fp16") == 32 + 200000);
  CHECK(bytes("bf16") == 32 + 200000);
  CHECK(bytes("int8") == 32 + 100000 + 4 * buckets);
  CHECK(bytes("qsgd") == 32 + 50000 + 4 * buckets); // 4 bits per code
  CHECK(bytes("sign") == 32 + 12500 + 4 * buckets);
  CHECK(bytes("topk") == 32 + 1000 * (4 + 4));
  CHECK(bytes("randk") == 32 + 1000 * 4); // the indices stay home
  encoded e;
  e.indices = {1, 2, 3};
  e.data = {1, 2, 3, 4, 5};
  e.scales = {1.0f, 2.0f};
  CHECK(encoded_bytes(e) == 32 + 12 + 5 + 8);
}
