// The GPU push path against the host one: the same compression settings, seeds and steps give
// the same Gradient payloads (sign: the same up to the bucket means' last bit), error feedback
// included, over several steps so the residuals are compared too.

#include "actors/cuda_push_encoder.hpp"

#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "actors/gradient_codec.hpp"
#include "kernels/compress/codec_registry.hpp"
#include "tests/cuda/device_util.hpp"
#include "tests/kernels/test_util.hpp"

using namespace herd;
using namespace herd::kernels::test;

TEST_CASE("cuda_push_encoder: the host encoder's payloads for every supported codec",
          "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  auto codecs = std::make_shared<kernels::compress::codec_registry>(
    kernels::compress::default_codecs());
  const size_t n = 300'007; // two slices of odd sizes
  auto slices = model::partition(n, 2);
  kernels::cuda_stream s;
  for (const char* codec : {"fp16", "bf16", "int8", "sign", "qsgd", "topk", "randk"})
    for (bool feedback : {false, true}) {
      INFO(codec << " error_feedback " << feedback);
      config::compression_config cfg;
      cfg.codec = codec;
      cfg.error_feedback = feedback;
      cfg.density = 0.01;
      REQUIRE(actors::cuda_push_encoder::supports(cfg));
      actors::gradient_encoder host(*codecs, cfg, config::optimizer_config{}, slices, 11);
      actors::cuda_push_encoder gpu(cfg, slices, 11);
      actors::gradient_decoder decoder(codecs);
      for (uint64_t clock = 0; clock < 3; ++clock) {
        auto g = random_floats(rng, n);
        auto d_g = to_device(g);
        for (uint32_t i = 0; i < slices.size(); ++i) {
          messages::gradient_header h;
          h.worker = 3;
          h.clock = clock;
          h.shard = i;
          h.offset = slices[i].offset;
          h.count = uint32_t(slices[i].count);
          h.samples = 64;
          h.data_key = (clock + 7) << 32 | 64 * clock; // the seeds follow it, not the worker
          auto want = host.encode(h, g.data());
          auto got = gpu.encode(h, d_g.get(), s.get());
          messages::slice_expectation e{i, slices[i].offset, h.count};
          std::vector<float> a(h.count), b(h.count);
          REQUIRE(decoder.decode(want, e, a.data()));
          REQUIRE(decoder.decode(got, e, b.data()));
          if (std::string(codec) == "sign") {
            check_close(b, a, 1e-7, 1e-5);
          } else {
            CHECK(got == want);
            check_close(b, a, 0.0, 0.0);
          }
        }
      }
    }
  config::compression_config dgc;
  dgc.codec = "topk";
  dgc.momentum_correction = true;
  CHECK_FALSE(actors::cuda_push_encoder::supports(dgc));
  dgc.momentum_correction = false;
  dgc.codec = "none"; // dense fp32 pushes take no device encoder
  CHECK_FALSE(actors::cuda_push_encoder::supports(dgc));
}

TEST_CASE("cuda_push_encoder: the residual comes down as the host's and goes back up whole",
          "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  auto codecs = std::make_shared<kernels::compress::codec_registry>(
    kernels::compress::default_codecs());
  const size_t n = 100'003;
  auto slices = model::partition(n, 2);
  kernels::cuda_stream s;
  for (const char* codec : {"int8", "topk", "randk"}) {
    INFO(codec);
    config::compression_config cfg;
    cfg.codec = codec;
    cfg.error_feedback = true;
    cfg.density = 0.01;
    actors::gradient_encoder host(*codecs, cfg, config::optimizer_config{}, slices, 11);
    actors::cuda_push_encoder gpu(cfg, slices, 11);
    auto header = [&](uint64_t clock, uint32_t i) {
      messages::gradient_header h;
      h.worker = 3;
      h.clock = clock;
      h.shard = i;
      h.offset = slices[i].offset;
      h.count = uint32_t(slices[i].count);
      h.samples = 64;
      h.data_key = (clock + 7) << 32 | 64 * clock;
      return h;
    };
    for (uint64_t clock = 0; clock < 3; ++clock) {
      auto g = random_floats(rng, n);
      auto d_g = to_device(g);
      for (uint32_t i = 0; i < slices.size(); ++i) {
        host.encode(header(clock, i), g.data());
        gpu.encode(header(clock, i), d_g.get(), s.get());
      }
    }
    messages::carried_state kept;
    host.save(kept);
    auto down = gpu.residual(s.get());
    REQUIRE(down.size() == slices.size());
    CHECK(down == kept.residual); // the same float ops in the same order
    // A fresh encoder given the residual encodes the next step as the one that kept it.
    actors::cuda_push_encoder again(cfg, slices, 11);
    CHECK(again.restore_residual({}, s.get())); // none kept: stays zero, as the host's
    REQUIRE(again.restore_residual(down, s.get()));
    CHECK_FALSE(again.restore_residual({down.front()}, s.get())); // one slice short
    auto g = random_floats(rng, n);
    auto d_g = to_device(g);
    for (uint32_t i = 0; i < slices.size(); ++i)
      CHECK(again.encode(header(3, i), d_g.get(), s.get())
            == gpu.encode(header(3, i), d_g.get(), s.get()));
  }
}
