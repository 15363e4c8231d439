#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/compress/half.hpp"
#include "messages/payload_codec.hpp"

using namespace herd::messages;

namespace {

std::vector<float> random_values(size_t n, uint64_t seed) {
  std::mt19937_64 gen{seed};
  std::normal_distribution<float> dist{0.0f, 2.0f};
  std::vector<float> v(n);
  for (auto& x : v)
    x = dist(gen);
  return v;
}

gradient_header header_for(uint32_t count) {
  gradient_header h;
  h.worker = 3;
  h.incarnation = 1;
  h.clock = 17;
  h.base_version = 16;
  h.shard = 1;
  h.offset = 1000;
  h.count = count;
  h.samples = 64;
  return h;
}

} // namespace

TEST_CASE("payload: fp32 slices and gradients round-trip exactly", "[messages]") {
  uint64_t seed = GENERATE(1u, 2u);
  INFO("seed " << seed);
  for (uint32_t n : {1u, 7u, 255u, 256u, 257u, 100000u}) {
    auto v = random_values(n, seed);
    slice_header sh{1, 1000, n, 42};
    auto bytes = encode_slice(sh, v.data(), dense_format::f32);
    std::vector<float> out(n, -1.0f);
    auto got = decode_slice(bytes, {1, 1000, n}, out.data());
    REQUIRE(got);
    CHECK(got->version == 42);
    CHECK(out == v);

    auto gh = header_for(n);
    auto gbytes = encode_gradient(gh, v.data(), dense_format::f32);
    std::vector<float> gout(n);
    auto g = decode_gradient(gbytes, {1, 1000, n}, gout.data());
    REQUIRE(g);
    CHECK(g->worker == 3);
    CHECK(g->incarnation == 1);
    CHECK(g->clock == 17);
    CHECK(g->base_version == 16);
    CHECK(g->samples == 64);
    CHECK(gout == v);
  }
}

TEST_CASE("payload: bf16 keeps 8 bits of mantissa and halves the bytes", "[messages]") {
  auto v = random_values(4096, 7);
  auto f32 = encode_gradient(header_for(4096), v.data(), dense_format::f32);
  auto bf16 = encode_gradient(header_for(4096), v.data(), dense_format::bf16);
  CHECK(bf16.size() < f32.size() * 6 / 10);
  std::vector<float> out(4096);
  REQUIRE(decode_gradient(bf16, {1, 1000, 4096}, out.data()));
  for (size_t i = 0; i < v.size(); ++i)
    REQUIRE(std::fabs(out[i] - v[i]) <= std::fabs(v[i]) * (1.0f / 256.0f));
  CHECK(from_bf16(to_bf16(1.0f)) == 1.0f);
  CHECK(std::isnan(from_bf16(to_bf16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST_CASE("payload: a 16-bit slice decoded as sent gives its 2-byte values unconverted",
          "[messages]") {
  auto v = random_values(300, 5);
  for (auto fmt : {dense_format::bf16, dense_format::f16}) {
    auto bytes = encode_slice({1, 1000, 300, 9}, v.data(), fmt);
    std::vector<float> as_floats(300);
    REQUIRE(decode_slice(bytes, {1, 1000, 300}, as_floats.data()));
    std::vector<uint16_t> raw(300);
    std::vector<float> untouched(300, -7.0f);
    auto got = dense_format::f32;
    auto h = decode_slice_as_sent(bytes, {1, 1000, 300}, untouched.data(), raw.data(), got);
    REQUIRE(h);
    CHECK(h->version == 9);
    CHECK(got == fmt);
    CHECK(untouched == std::vector<float>(300, -7.0f)); // the floats were not written
    for (size_t i = 0; i < raw.size(); ++i) // converting them gives what decode_slice gave
      REQUIRE((fmt == dense_format::bf16 ? herd::kernels::compress::bf16_to_float(raw[i])
                                      : herd::kernels::compress::fp16_to_float(raw[i]))
              == as_floats[i]);
    CHECK_FALSE(decode_slice_as_sent(bytes, {1, 1000, 301}, untouched.data(), raw.data(), got));
  }
  // An fp32 slice still decodes into the floats.
  auto f32 = encode_slice({0, 0, 300, 1}, v.data(), dense_format::f32);
  std::vector<float> out(300);
  std::vector<uint16_t> raw(300, 0);
  auto got = dense_format::bf16;
  REQUIRE(decode_slice_as_sent(f32, {0, 0, 300}, out.data(), raw.data(), got));
  CHECK(got == dense_format::f32);
  CHECK(out == v);
}

TEST_CASE("payload: a slice for another place is refused and nothing is written",
          "[messages]") {
  auto v = random_values(100, 3);
  auto bytes = encode_slice({1, 1000, 100, 5}, v.data(), dense_format::f32);
  std::vector<float> out(100, -7.0f);
  CHECK_FALSE(decode_slice(bytes, {0, 1000, 100}, out.data()));   // wrong shard
  CHECK_FALSE(decode_slice(bytes, {1, 999, 100}, out.data()));    // wrong offset
  auto err = decode_slice(bytes, {1, 1000, 101}, out.data());     // wrong count
  REQUIRE_FALSE(err);
  CHECK(herd::code_of(err.error()) == herd::errc::payload_invalid);
  CHECK(out == std::vector<float>(100, -7.0f));
}

TEST_CASE("payload: truncated, misaligned-length and random bytes are refused", "[messages]") {
  auto v = random_values(300, 4);
  auto bytes = encode_gradient(header_for(300), v.data(), dense_format::f32);
  std::vector<float> out(300);
  auto cut = bytes;
  cut.resize(bytes.size() - 8);
  CHECK_FALSE(decode_gradient(cut, {1, 1000, 300}, out.data()));
  auto odd = bytes;
  odd.resize(bytes.size() - 3);
  CHECK_FALSE(decode_gradient(odd, {1, 1000, 300}, out.data()));
  CHECK_FALSE(decode_gradient({}, {1, 1000, 300}, out.data()));
  std::mt19937_64 gen{5};
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<char> junk(8 * (1 + gen() % 64));
    for (auto& c : junk)
      c = static_cast<char>(gen());
    CHECK_FALSE(decode_gradient(junk, {1, 1000, 300}, out.data()));
  }
}

TEST_CASE("payload: gradients holding NaN or Inf are refused", "[messages]") {
  auto v = random_values(50, 6);
  v[17] = std::numeric_limits<float>::infinity();
  auto bytes = encode_gradient(header_for(50), v.data(), dense_format::f32);
  std::vector<float> out(50);
  auto got = decode_gradient(bytes, {1, 1000, 50}, out.data());
  REQUIRE_FALSE(got);
  CHECK(herd::describe(got.error()).find("element 17") != std::string::npos);
}

TEST_CASE("payload: a gradient covering no samples is refused", "[messages]") {
  auto v = random_values(10, 8);
  auto h = header_for(10);
  h.samples = 0;
  std::vector<float> out(10);
  CHECK_FALSE(decode_gradient(encode_gradient(h, v.data(), dense_format::f32), {1, 1000, 10},
                              out.data()));
}

TEST_CASE("payload: a dense fp32 gradient is viewed where it lies, other encodings are not",
          "[messages]") {
  uint32_t n = GENERATE(1u, 255u, 257u, 100000u);
  auto values = random_values(n, n);
  slice_expectation want{1, 1000, n};
  auto f32 = encode_gradient(header_for(n), values.data(), dense_format::f32);
  const float* view = nullptr;
  auto h = view_dense_gradient(f32, want, view);
  REQUIRE(h);
  CHECK(h->worker == 3);
  CHECK(h->clock == 17);
  REQUIRE(view != nullptr);
  CHECK(reinterpret_cast<const char*>(view) > f32.data());
  CHECK(reinterpret_cast<const char*>(view + n) <= f32.data() + f32.size());
  CHECK(std::vector<float>(view, view + n) == values);

  auto bf16 = encode_gradient(header_for(n), values.data(), dense_format::bf16);
  REQUIRE(view_dense_gradient(bf16, want, view));
  CHECK(view == nullptr);

  slice_expectation elsewhere{1, 999, n};
  CHECK_FALSE(view_dense_gradient(f32, elsewhere, view));
  CHECK(view == nullptr);
  auto cut = f32;
  cut.resize(cut.size() - 8);
  CHECK_FALSE(view_dense_gradient(cut, want, view));
}
