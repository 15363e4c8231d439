#include "kernels/cuda/codecs_cuda.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "kernels/compress/error_feedback.hpp"
#include "kernels/compress/int8_codec.hpp"
#include "kernels/compress/qsgd_codec.hpp"
#include "kernels/compress/randk_codec.hpp"
#include "kernels/compress/sign_codec.hpp"
#include "kernels/compress/topk_candidates.hpp"
#include "kernels/compress/topk_codec.hpp"
#include "kernels/cuda/cuda_raii.hpp"
#include "kernels/cuda/feedback_cuda.hpp"
#include "tests/cuda/device_util.hpp"
#include "tests/kernels/test_util.hpp"

using namespace herd::kernels;
using namespace herd::kernels::compress;
using namespace herd::kernels::test;

namespace {

constexpr uint32_t sizes[] = {1, 255, 256, 257, 1'000'003};

// Bit for bit, except that any two NaNs match (a NaN norm's bits may differ on the device).
bool same_floats(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size())
    return false;
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::isnan(got[i]) && std::isnan(want[i]))
        && std::memcmp(&got[i], &want[i], sizeof(float)) != 0)
      return false;
  return true;
}

} // namespace

TEST_CASE("int8_encode_cuda: the same codes and scales as int8_codec", "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  cuda_stream s;
  for (uint32_t bucket : {1u, 256u, 512u})
    for (uint32_t n : sizes) {
      INFO("n=" << n << " bucket=" << bucket);
      auto g = random_floats(rng, n);
      if (n > 300)
        g[300] = std::numeric_limits<float>::quiet_NaN(); // its bucket gets a NaN scale
      codec_params p;
      p.bucket = bucket;
      int8_codec cpu(p);
      encoded e;
      cpu.encode(g.data(), n, seed + n, e);
      auto dg = to_device(g);
      device_buffer<int8_t> codes(n);
      device_buffer<float> scales(e.scales.size());
      int8_encode_cuda(dg.get(), n, bucket, seed + n, codes.get(), scales.get(), s.get());
      auto got = to_host(codes);
      CHECK(std::memcmp(got.data(), e.data.data(), n) == 0);
      auto got_scales = to_host(scales);
      CHECK(std::memcmp(got_scales.data(), e.scales.data(), 4 * e.scales.size()) == 0);
    }
}

TEST_CASE("sign_encode_cuda: the same bits as sign_codec and scales to rounding", "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  cuda_stream s;
  for (uint32_t bucket : {1u, 512u, 1u << 30})
    for (uint32_t n : sizes) {
      INFO("n=" << n << " bucket=" << bucket);
      auto g = random_floats(rng, n);
      codec_params p;
      p.bucket = bucket;
      sign_codec cpu(p);
      encoded e;
      cpu.encode(g.data(), n, 0, e);
      auto dg = to_device(g);
      device_buffer<uint8_t> bits(e.data.size());
      device_buffer<float> scales(e.scales.size());
      sign_encode_cuda(dg.get(), n, bucket, bits.get(), scales.get(), s.get());
      CHECK(to_host(bits) == e.data);
      check_close(to_host(scales), e.scales, 0.0, 1e-6);
    }
}

TEST_CASE("topk_candidates_cuda: the candidates give exactly topk_codec's bytes", "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  cuda_stream s;
  device_buffer<uint32_t> hist(topk_buckets + 1), count(1);
  std::vector<uint32_t> scratch;
  for (double density : {0.001, 0.01, 0.5})
    for (uint32_t n : sizes) {
      INFO("n=" << n << " density=" << density);
      auto g = random_floats(rng, n);
      for (uint32_t i = 0; i < n; i += 97)
        g[i] = 0.5f; // ties at one magnitude
      codec_params p;
      p.density = density;
      topk_codec cpu(p);
      encoded want;
      cpu.encode(g.data(), n, 0, want);
      const uint32_t k = sparse_count(density, n);
      auto dg = to_device(g);
      device_buffer<uint32_t> idx(n);
      device_buffer<float> val(n);
      topk_candidates_cuda(dg.get(), n, k, hist.get(), idx.get(), val.get(), count.get(),
                           s.get());
      const uint32_t m = to_host(count)[0];
      REQUIRE(m >= k);
      REQUIRE(m <= n);
      auto hi = to_host(idx, m);
      auto hv = to_host(val, m);
      encoded got;
      topk_from_candidates(hi.data(), hv.data(), m, k, n, got, scratch);
      CHECK(got.indices == want.indices);
      CHECK(got.data == want.data);
    }
}

TEST_CASE("qsgd_encode_cuda: the same packed codes and norms as qsgd_codec", "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  cuda_stream s;
  for (uint32_t levels : {1u, 4u, 8u, 1000u, 32767u}) // 2, 4, 5, 11 and 16 bits per code
    for (uint32_t bucket : {1u, 512u, 1u << 30})
      for (uint32_t n : sizes) {
        INFO("n=" << n << " bucket=" << bucket << " levels=" << levels);
        auto g = random_floats(rng, n);
        if (n > 300 && bucket <= 512)
          g[300] = std::numeric_limits<float>::quiet_NaN(); // a NaN norm, codes 0
        codec_params p;
        p.bucket = bucket;
        p.levels = levels;
        qsgd_codec cpu(p);
        encoded e;
        cpu.encode(g.data(), n, seed + n, e);
        auto dg = to_device(g);
        device_buffer<uint8_t> data(e.data.size());
        device_buffer<float> scales(e.scales.size());
        qsgd_encode_cuda(dg.get(), n, bucket, levels, seed + n, data.get(), scales.get(),
                         s.get());
        CHECK(to_host(data) == e.data);
        CHECK(same_floats(to_host(scales), e.scales));
      }
}

TEST_CASE("randk_encode_cuda: the positions of randk_indices and the values of randk_codec",
          "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  cuda_stream s;
  device_buffer<uint8_t> work(randk_work_bytes(sizes[std::size(sizes) - 1])); // the largest
  for (double density : {0.001, 0.01, 0.5, 0.999, 1.0}) // 0.999: long chains of Floyd steps
    for (uint32_t n : sizes) {
      INFO("n=" << n << " density=" << density);
      auto g = random_floats(rng, n);
      codec_params p;
      p.density = density;
      randk_codec cpu(p);
      encoded e;
      const uint64_t step_seed = seed + n;
      cpu.encode(g.data(), n, step_seed, e);
      const uint32_t k = sparse_count(density, n);
      REQUIRE(e.data.size() == 4 * size_t(k));
      std::vector<uint32_t> want_idx;
      randk_indices(step_seed, n, k, want_idx);
      auto dg = to_device(g);
      device_buffer<uint32_t> idx(k);
      device_buffer<float> val(k);
      randk_encode_cuda(dg.get(), n, k, step_seed, work.get(), work.bytes(), idx.get(),
                        val.get(), s.get());
      CHECK(to_host(idx) == want_idx);
      auto got = to_host(val);
      CHECK(std::memcmp(got.data(), e.data.data(), e.data.size()) == 0);
    }
}

TEST_CASE("feedback_qsgd_cuda, feedback_randk_cuda: error_feedback's residual bit for bit",
          "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  cuda_stream s;
  for (uint32_t n : sizes) {
    INFO("n=" << n);
    auto g = random_floats(rng, n); // never -0: c = g + 0 is g on both sides
    codec_params p;
    p.bucket = 256;
    p.levels = 5;
    p.density = 0.01;
    { // qsgd
      error_feedback cpu(std::make_unique<qsgd_codec>(p), n);
      encoded e;
      cpu.encode(g.data(), seed, e);
      auto r = to_device(g); // c, encoded in place as cuda_push_encoder does
      device_buffer<uint8_t> data(e.data.size());
      device_buffer<float> scales(e.scales.size());
      qsgd_encode_cuda(r.get(), n, p.bucket, p.levels, seed, data.get(), scales.get(), s.get());
      feedback_qsgd_cuda(r.get(), data.get(), scales.get(), n, p.bucket, p.levels, s.get());
      auto got = to_host(r);
      CHECK(std::memcmp(got.data(), cpu.residual(), 4 * size_t(n)) == 0);
    }
    { // randk
      error_feedback cpu(std::make_unique<randk_codec>(p), n);
      encoded e;
      cpu.encode(g.data(), seed, e);
      const uint32_t k = sparse_count(p.density, n);
      auto r = to_device(g);
      device_buffer<uint8_t> work(randk_work_bytes(n));
      device_buffer<uint32_t> idx(k);
      device_buffer<float> val(k);
      randk_encode_cuda(r.get(), n, k, seed, work.get(), work.bytes(), idx.get(), val.get(),
                        s.get());
      feedback_randk_cuda(r.get(), idx.get(), val.get(), k, s.get());
      auto got = to_host(r);
      CHECK(std::memcmp(got.data(), cpu.residual(), 4 * size_t(n)) == 0);
    }
  }
}
