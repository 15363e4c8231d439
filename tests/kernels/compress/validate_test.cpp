// validate() against hand-broken messages: every codec's own output is
// accepted, and each inconsistency is refused with one line naming the codec,
// before decode could read out of bounds (validate_and_decode leaves the
// output untouched).

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "kernels/compress/codec_registry.hpp"
#include "kernels/compress/qsgd_codec.hpp"
#include "tests/kernels/compress/compress_test_util.hpp"

using namespace herd::kernels::compress;
using namespace herd::kernels::compress::test;
using herd::kernels::test::random_floats;
using herd::kernels::test::test_seed;

namespace {

constexpr uint32_t n = 257;

codec_params validate_params() {
  codec_params p;
  p.density = 0.05; // topk/randk: k = 13
  p.bucket = 100;   // int8/qsgd: 3 buckets
  p.levels = 4;     // qsgd: 4-bit codes, so levels up to 7 can be forged
  return p;
}

struct mutation {
  std::string what;
  std::vector<std::string> codecs; // empty: every codec
  std::function<void(encoded&)> apply;
  uint32_t expected_count = n;
};

const std::vector<std::string> no_indices = {"dense_f32", "fp16", "bf16",
                                             "int8",      "qsgd", "sign",
                                             "randk"};
const std::vector<std::string> no_scales = {"dense_f32", "fp16", "bf16",
                                            "topk", "randk"};
const std::vector<std::string> scaled = {"int8", "qsgd", "sign"};
const std::vector<std::string> bucketed = {"int8", "qsgd", "sign"};

std::vector<mutation> mutations() {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  return {
    {"expected count differs", {}, [](encoded&) {}, n + 1},
    {"count differs", {}, [](encoded& e) { e.count = n - 1; }},
    {"wrong kind", {}, [](encoded& e) {
       e.kind = e.kind == codec_kind::sign ? codec_kind::topk
                                           : codec_kind::sign;
     }},
    {"one data byte too many", {}, [](encoded& e) { e.data.push_back(0); }},
    {"one data byte short", {}, [](encoded& e) { e.data.pop_back(); }},
    {"no data", {}, [](encoded& e) { e.data.clear(); }},
    {"indices where none belong", no_indices,
     [](encoded& e) { e.indices = {0}; }},
    {"scales where none belong", no_scales,
     [](encoded& e) { e.scales = {1.0f}; }},
    {"NaN scale", scaled, [=](encoded& e) { e.scales.back() = nan; }},
    {"negative scale", scaled, [](encoded& e) { e.scales[0] = -1.0f; }},
    {"inf scale", scaled, [=](encoded& e) { e.scales[0] = inf; }},
    {"a scale missing", scaled, [](encoded& e) { e.scales.pop_back(); }},
    {"a scale too many", scaled, [](encoded& e) { e.scales.push_back(1); }},
    {"bucket 0", bucketed, [](encoded& e) { e.bucket = 0; }},
    {"bucket differs from the scales", bucketed,
     [](encoded& e) { e.bucket = 50; }},
    {"levels 0", {"qsgd"}, [](encoded& e) { e.levels = 0; }},
    {"levels too many", {"qsgd"},
     [](encoded& e) { e.levels = qsgd_max_levels + 1; }},
    {"levels differ from the code width", {"qsgd"},
     [](encoded& e) { e.levels = 1; }},
    {"a level above s", {"qsgd"},
     [](encoded& e) { e.data[0] = uint8_t((e.data[0] & 0xf0) | (5 << 1)); }},
    {"padding bits set", {"qsgd", "sign"},
     [](encoded& e) { e.data.back() |= 0x80; }},
    {"int8 code -128", {"int8"}, [](encoded& e) { e.data[3] = 0x80; }},
    {"index out of range", {"topk"},
     [](encoded& e) { e.indices.back() = n; }},
    {"huge index", {"topk"},
     [](encoded& e) { e.indices.back() = 0xffffffffu; }},
    {"indices unsorted", {"topk"},
     [](encoded& e) { std::swap(e.indices[0], e.indices[1]); }},
    {"duplicate index", {"topk"},
     [](encoded& e) { e.indices[1] = e.indices[0]; }},
    {"an index without a value", {"topk"},
     [](encoded& e) { e.indices.push_back(n - 1); }},
    {"more indices than elements", {"topk"},
     [](encoded& e) { e.count = 2; }, 2},
    {"more values than elements", {"randk"},
     [](encoded& e) { e.data.resize(4 * size_t(n + 1)); }},
  };
}

bool applies(const mutation& m, const std::string& name) {
  return m.codecs.empty()
         || std::find(m.codecs.begin(), m.codecs.end(), name)
              != m.codecs.end();
}

} // namespace

TEST_CASE("validate: every codec refuses each broken message in one line",
          "[kernels]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const auto reg = default_codecs();
  const auto g = random_floats(rng, n);
  size_t tried = 0;
  for (const auto& name : reg.names()) {
    auto c = reg.make(name, validate_params());
    encoded good;
    c->encode(g.data(), n, seed, good);
    {
      INFO(name << ": " << c->validate(good, n).value_or("ok"));
      REQUIRE(!c->validate(good, n));
    }
    for (const auto& m : mutations()) {
      if (!applies(m, name))
        continue;
      ++tried;
      INFO(name << ": " << m.what);
      encoded bad = good;
      m.apply(bad);
      const auto err = c->validate(bad, m.expected_count);
      REQUIRE(err);
      INFO("message: " << *err);
      CHECK(err->rfind(name + ": ", 0) == 0);
      CHECK(err->find('\n') == std::string::npos);
      std::vector<float> out(n + 2, 12345.0f);
      CHECK(validate_and_decode(*c, bad, m.expected_count, out.data()));
      CHECK(std::all_of(out.begin(), out.end(),
                        [](float x) { return x == 12345.0f; }));
    }
  }
  CHECK(tried >= 80);
}

TEST_CASE("validate: another codec's message is refused by kind",
          "[kernels]") {
  const auto reg = default_codecs();
  const std::vector<float> g(64, 0.5f);
  for (const auto& from : reg.names()) {
    auto src = reg.make(from, validate_params());
    encoded e;
    src->encode(g.data(), 64, 1, e);
    for (const auto& to : reg.names()) {
      if (to == from)
        continue;
      INFO(from << " -> " << to);
      auto err = reg.make(to, validate_params())->validate(e, 64);
      REQUIRE(err);
      CHECK(err->find("kind is " + from) != std::string::npos);
    }
  }
}

TEST_CASE("validate_and_decode: decodes a valid message", "[kernels]") {
  const auto reg = default_codecs();
  auto c = reg.make("dense_f32", {});
  const std::vector<float> g = {1, 2, 3};
  encoded e;
  c->encode(g.data(), 3, 0, e);
  std::vector<float> out(3, 0.0f);
  CHECK(!validate_and_decode(*c, e, 3, out.data()));
  CHECK(out == g);
}
