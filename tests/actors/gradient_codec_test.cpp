#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <random>

#include "actors/gradient_codec.hpp"

using namespace herd;
namespace compress = kernels::compress;

namespace {

std::vector<float> random_gradient(size_t n, uint64_t seed) {
  std::mt19937_64 gen{seed};
  std::normal_distribution<float> dist;
  std::vector<float> g(n);
  for (auto& x : g)
    x = dist(gen);
  return g;
}

messages::gradient_header header(uint32_t shard, const model::slice& s, uint64_t clock) {
  messages::gradient_header h;
  h.worker = 1;
  h.clock = clock;
  h.shard = shard;
  h.offset = s.offset;
  h.count = uint32_t(s.count);
  h.samples = 16;
  return h;
}

auto registry() {
  return std::make_shared<compress::codec_registry>(compress::default_codecs());
}

const config::optimizer_config no_momentum{config::optimizer_kind::sgd, 0.05, 0.0};

} // namespace

TEST_CASE("gradient codec: every codec's payload decodes on the shard side", "[actors]") {
  auto codecs = registry();
  auto slices = model::partition(3001, 2);
  auto g = random_gradient(3001, 1);
  for (std::string name : {"none", "fp16", "bf16", "int8", "topk", "randk", "qsgd", "sign"}) {
    INFO("codec " << name);
    config::compression_config cfg;
    cfg.codec = name;
    cfg.density = 0.1;
    config::job_config job;
    job.compression = cfg;
    REQUIRE_FALSE(actors::check_compression(job, *codecs));
    actors::gradient_encoder enc{*codecs, cfg, config::optimizer_config{}, slices, 7};
    actors::gradient_decoder dec{codecs};
    for (uint32_t i = 0; i < 2; ++i) {
      auto bytes = enc.encode(header(i, slices[i], 3), g.data());
      std::vector<float> out(slices[i].count);
      auto h = dec.decode(bytes, {i, slices[i].offset, uint32_t(slices[i].count)}, out.data());
      REQUIRE(h);
      CHECK(h->clock == 3);
      if (name == "none")
        CHECK(std::equal(out.begin(), out.end(), g.begin() + slices[i].offset));
    }
  }
}

TEST_CASE("gradient codec: unknown codecs and conflicting options are refused by name",
          "[actors]") {
  auto codecs = registry();
  config::job_config job;
  job.compression.codec = "zip";
  auto err = actors::check_compression(job, *codecs);
  REQUIRE(err);
  CHECK(describe(err).rfind("/compression/codec: unknown codec \"zip\" (known: none, ", 0) == 0);
  job.compression.codec = "randk"; // its residual grows under error feedback
  job.compression.error_feedback = true;
  err = actors::check_compression(job, *codecs);
  REQUIRE(err);
  CHECK(describe(err).rfind("/compression/error_feedback: expected false with codec \"randk\"", 0)
        == 0);
  job.compression.error_feedback = false;
  CHECK_FALSE(actors::check_compression(job, *codecs));
  job.compression.momentum_correction = true; // the same growth under momentum correction
  err = actors::check_compression(job, *codecs);
  REQUIRE(err);
  CHECK(describe(err).rfind("/compression/momentum_correction: expected false with codec "
                            "\"randk\"",
                            0)
        == 0);
  job.compression.momentum_correction = false;
  job.compression.codec = "topk";
  job.compression.error_feedback = true;
  job.compression.momentum_correction = true;
  CHECK(actors::check_compression(job, *codecs));
  job.compression.error_feedback = false;
  CHECK_FALSE(actors::check_compression(job, *codecs)); // sgd: fine
  job.optimizer.type = config::optimizer_kind::adam;
  err = actors::check_compression(job, *codecs);
  REQUIRE(err);
  CHECK(describe(err).rfind("/compression/momentum_correction: expected false with optimizer "
                            "\"adam\"",
                            0)
        == 0);
}

TEST_CASE("gradient codec: top-k with error feedback sends about density x n and loses "
          "nothing over time",
          "[actors]") {
  auto codecs = registry();
  auto slices = model::partition(10000, 1);
  config::compression_config cfg;
  cfg.codec = "topk";
  cfg.density = 0.01;
  cfg.error_feedback = true;
  actors::gradient_encoder enc{*codecs, cfg, no_momentum, slices, 1};
  actors::gradient_decoder dec{codecs};
  std::vector<double> sent(10000, 0.0), total(10000, 0.0);
  size_t bytes = 0;
  for (uint64_t step = 0; step < 200; ++step) {
    auto g = random_gradient(10000, 100 + step);
    for (size_t i = 0; i < g.size(); ++i)
      total[i] += g[i];
    auto payload = enc.encode(header(0, slices[0], step), g.data());
    bytes += payload.size();
    std::vector<float> out(10000);
    REQUIRE(dec.decode(payload, {0, 0, 10000}, out.data()));
    for (size_t i = 0; i < out.size(); ++i)
      sent[i] += out[i];
  }
  CHECK(bytes / 200 < 10000 * 4 / 40); // over 40x smaller than fp32 on average
  // What was not sent yet is bounded (the residual), not growing with the steps.
  double worst = 0;
  for (size_t i = 0; i < sent.size(); ++i)
    worst = std::max(worst, std::fabs(total[i] - sent[i]));
  CHECK(worst < 30.0);
}

TEST_CASE("gradient codec: a gradient holding NaN is refused whatever the codec", "[actors]") {
  auto codecs = registry();
  auto slices = model::partition(1000, 1);
  auto g = random_gradient(1000, 2);
  g[123] = std::numeric_limits<float>::quiet_NaN();
  for (std::string name : {"none", "fp16", "topk", "qsgd", "sign", "int8"}) {
    INFO("codec " << name);
    config::compression_config cfg;
    cfg.codec = name;
    actors::gradient_encoder enc{*codecs, cfg, no_momentum, slices, 1};
    actors::gradient_decoder dec{codecs};
    std::vector<float> out(1000);
    auto h = dec.decode(enc.encode(header(0, slices[0], 0), g.data()), {0, 0, 1000}, out.data());
    REQUIRE_FALSE(h);
    CHECK(code_of(h.error()) == errc::payload_invalid);
    if (name == "none" || name == "fp16") // dense: the message names where
      CHECK_THAT(caf::to_string(h.error()), Catch::Contains("element 123"));
  }
}

TEST_CASE("gradient codec: a dense fp32 gradient is read in place, others through the buffer",
          "[actors]") {
  auto codecs = registry();
  auto slices = model::partition(1000, 1);
  auto g = random_gradient(1000, 3);
  for (std::string name : {"none", "fp16", "topk"}) {
    INFO("codec " << name);
    config::compression_config cfg;
    cfg.codec = name;
    actors::gradient_encoder enc{*codecs, cfg, no_momentum, slices, 1};
    actors::gradient_decoder dec{codecs};
    std::vector<float> out(1000), copied(1000);
    auto bytes = enc.encode(header(0, slices[0], 0), g.data());
    const float* values = nullptr;
    REQUIRE(dec.decode(bytes, {0, 0, 1000}, out.data(), values));
    REQUIRE(dec.decode(bytes, {0, 0, 1000}, copied.data()));
    bool in_place = reinterpret_cast<const char*>(values) >= bytes.data()
                    && reinterpret_cast<const char*>(values) < bytes.data() + bytes.size();
    CHECK(in_place == (name == "none"));
    CHECK((values == out.data()) == (name != "none"));
    CHECK(std::vector<float>(values, values + 1000) == copied);
  }
}

TEST_CASE("gradient codec: momentum correction follows the optimizer's momentum and Nesterov",
          "[actors]") {
  auto codecs = registry();
  auto slices = model::partition(1000, 1);
  config::compression_config cfg;
  cfg.codec = "topk";
  cfg.density = 1.0; // sends everything: the decoded payload is the accumulated momentum
  cfg.momentum_correction = true;
  auto g = random_gradient(1000, 3);
  for (bool nesterov : {false, true}) {
    INFO("nesterov " << nesterov);
    config::optimizer_config opt;
    opt.momentum = 0.9;
    opt.nesterov = nesterov;
    actors::gradient_encoder enc{*codecs, cfg, opt, slices, 1};
    actors::gradient_decoder dec{codecs};
    std::vector<float> out(1000);
    for (uint64_t step = 0; step < 2; ++step) {
      REQUIRE(dec.decode(enc.encode(header(0, slices[0], step), g.data()), {0, 0, 1000},
                         out.data()));
      // Everything sent at each step clears u and v, so each step starts afresh:
      // plain v = u = g; Nesterov v = g + 0.9 u = 1.9 g.
      for (size_t i = 0; i < g.size(); i += 37)
        CHECK(out[i] == Approx((nesterov ? 1.9f : 1.0f) * g[i]).epsilon(1e-5));
    }
  }
}
