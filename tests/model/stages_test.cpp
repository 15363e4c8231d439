#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "model/stage_compute.hpp"
#include "model/stages.hpp"

using namespace herd::model;

namespace {

// The whole minibatch through K stages as a pipeline would run it (every forward, then
// every backward in reverse), returning the summed gradient and the weighted loss. `half`
// and `scale`: reduced precision and the loss scale (the gradient comes out scaled).
float pipeline_step(std::shared_ptr<const mlp> net, const std::vector<stage_range>& stages,
                    const std::vector<float>& params, const std::vector<float>& x,
                    const std::vector<uint8_t>& y, int rows, int micro, std::vector<float>& grad,
                    std::optional<herd::kernels::half_format> half = {}, float scale = 1.0f) {
  std::vector<stage_compute> cs;
  for (auto& r : stages) {
    cs.emplace_back(net, r);
    cs.back().set_half(half);
  }
  for (auto& c : cs)
    c.begin(grad.data());
  auto sizes = split_rows(rows, micro);
  std::vector<std::vector<float>> acts(sizes.size());
  float loss = 0;
  int first = 0;
  std::vector<int> starts;
  for (size_t m = 0; m < sizes.size(); ++m) {
    starts.push_back(first);
    std::vector<float> a(x.begin() + size_t(first) * net->inputs(),
                         x.begin() + size_t(first + sizes[m]) * net->inputs());
    for (auto& c : cs)
      a = c.forward(int(m), params.data(), a.data(), sizes[m]);
    float w = float(sizes[m]) / float(rows);
    loss += w * cs.back().loss_and_delta(int(m), y.data() + first, w * scale);
    first += sizes[m];
  }
  for (size_t m = sizes.size(); m-- > 0;) {
    std::vector<float> d;
    for (size_t k = cs.size(); k-- > 0;)
      d = cs[k].backward(int(m), params.data(), d.data(), grad.data());
    CHECK(d.empty()); // stage 0 sends nothing back
  }
  return loss;
}

} // namespace

TEST_CASE("stages: layers are cut into balanced contiguous stages", "[model]") {
  mlp net({784, 256, 128, 64, 10});
  auto two = cut_stages(net, 2);
  REQUIRE(two.error.empty());
  REQUIRE(two.stages.size() == 2);
  CHECK(two.stages[0].first_layer == 0);
  CHECK(two.stages[0].end_layer == 1); // 784x256 outweighs the rest
  CHECK(two.stages[1].end_layer == 4);
  CHECK(two.stages[1].offset == two.stages[0].count);
  CHECK(two.stages[0].count + two.stages[1].count == net.param_count());
  CHECK(two.stages[0].in == 784);
  CHECK(two.stages[1].in == 256);
  CHECK(two.stages[1].out == 10);
  auto four = cut_stages(net, 4);
  REQUIRE(four.stages.size() == 4);
  for (int s = 0; s < 4; ++s)
    CHECK(four.stages[s].end_layer - four.stages[s].first_layer == 1);
}

TEST_CASE("stages: more stages than layers is a clear error", "[model]") {
  mlp net({20, 10, 5});
  auto cut = cut_stages(net, 3);
  CHECK(cut.stages.empty());
  CHECK(cut.error.find("2 layer(s)") != std::string::npos);
  CHECK_FALSE(cut_stages(net, 0).error.empty());
}

TEST_CASE("stages: shard slices never cross a stage boundary", "[model]") {
  mlp net({100, 50, 50, 10});
  auto cut = cut_stages(net, 3);
  REQUIRE(cut.error.empty());
  for (size_t shards : {3u, 4u, 5u, 7u}) {
    std::vector<int> owner;
    auto slices = stage_slices(cut.stages, shards, &owner);
    REQUIRE(slices.size() == shards);
    REQUIRE(owner.size() == shards);
    size_t next = 0;
    std::vector<int> per_stage(3, 0);
    for (size_t i = 0; i < shards; ++i) {
      CHECK(slices[i].offset == next); // contiguous, in order
      next += slices[i].count;
      const auto& r = cut.stages[size_t(owner[i])];
      CHECK(slices[i].offset >= r.offset);
      CHECK(slices[i].offset + slices[i].count <= r.offset + r.count);
      ++per_stage[size_t(owner[i])];
    }
    CHECK(next == net.param_count());
    for (int n : per_stage)
      CHECK(n >= 1);
  }
  // The largest stage (100x50) gets the extra shards first.
  std::vector<int> owner;
  stage_slices(cut.stages, 4, &owner);
  CHECK(owner == std::vector<int>{0, 0, 1, 2});
}

TEST_CASE("stages: micro-batch sizes split a minibatch as evenly as possible", "[model]") {
  CHECK(split_rows(10, 4) == std::vector<int>{3, 3, 2, 2});
  CHECK(split_rows(8, 1) == std::vector<int>{8});
  CHECK(split_rows(3, 8) == std::vector<int>{1, 1, 1});
}

TEST_CASE("stages: K stages over M micro-batches give the unsplit model's gradient",
          "[model]") {
  auto net = std::make_shared<const mlp>(std::vector<int>{30, 24, 20, 16, 10});
  std::vector<float> params(net->param_count());
  net->init(params.data(), 7);
  uint64_t seed = 20261127;
  std::printf("stages gradient test seed %llu\n", (unsigned long long) seed);
  std::mt19937_64 gen{seed};
  std::normal_distribution<float> dist;
  int rows = 37; // not a multiple of M: unequal micro-batches
  std::vector<float> x(size_t(rows) * 30);
  for (auto& v : x)
    v = dist(gen);
  std::vector<uint8_t> y(static_cast<size_t>(rows), uint8_t{0});
  for (auto& v : y)
    v = uint8_t(gen() % 10);
  std::vector<float> want(net->param_count());
  mlp_workspace ws;
  float want_loss = net->train_step(params.data(), x.data(), y.data(), rows, want.data(), ws);
  for (int k : {2, 3}) {
    auto cut = cut_stages(*net, k);
    REQUIRE(cut.error.empty());
    for (int m : {1, 4}) {
      INFO("K=" << k << " M=" << m);
      std::vector<float> got(net->param_count(), 123.0f); // begin() must clear it
      float loss = pipeline_step(net, cut.stages, params, x, y, rows, m, got);
      CHECK(loss == Approx(want_loss).epsilon(1e-5));
      double worst = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        double err = std::fabs(got[i] - want[i]) - (1e-6 + 1e-4 * std::fabs(want[i]));
        worst = std::max(worst, err);
      }
      CHECK(worst <= 0);
    }
  }
}

TEST_CASE("stages: in bf16 and fp16 with a loss scale, K stages give the unsplit model's "
          "gradient",
          "[model]") {
  using herd::kernels::half_format;
  auto net = std::make_shared<const mlp>(std::vector<int>{30, 24, 20, 16, 10});
  std::vector<float> params(net->param_count());
  net->init(params.data(), 7);
  std::mt19937_64 gen{20261128};
  std::normal_distribution<float> dist;
  int rows = 37;
  std::vector<float> x(size_t(rows) * 30);
  for (auto& v : x)
    v = dist(gen);
  std::vector<uint8_t> y(static_cast<size_t>(rows), uint8_t{0});
  for (auto& v : y)
    v = uint8_t(gen() % 10);
  for (auto half : {half_format::bf16, half_format::fp16}) {
    float scale = half == half_format::fp16 ? 1024.0f : 1.0f;
    // As a worker computes: half parameters and inputs, every op rounded (mlp::train_step).
    auto p16 = params;
    herd::kernels::round_to_half_cpu(p16.data(), p16.size(), half);
    auto x16 = x;
    herd::kernels::round_to_half_cpu(x16.data(), x16.size(), half);
    std::vector<float> want(net->param_count());
    mlp_workspace ws;
    step_options so;
    so.half = half;
    so.loss_scale = scale;
    float want_loss = net->train_step(p16.data(), x16.data(), y.data(), rows, want.data(), ws, so);
    auto cut = cut_stages(*net, 2);
    REQUIRE(cut.error.empty());
    for (int m : {1, 4}) {
      INFO("half " << int(half) << " M=" << m);
      std::vector<float> got(net->param_count());
      // The stages take the raw inputs: stage 0 rounds them itself.
      float loss = pipeline_step(net, cut.stages, p16, x, y, rows, m, got, half, scale);
      CHECK(loss == Approx(want_loss).epsilon(1e-4));
      if (m == 1) { // the same ops in the same order: bit for bit
        CHECK(loss == want_loss);
        CHECK(got == want);
      }
      // Over micro-batches, each one's gradient is rounded and they add up in fp32: the two
      // agree to the half format's precision (bf16: 8 bits, fp16: 11).
      double tol = half == half_format::bf16 ? 1e-2 : 2e-3;
      double worst = 0, norm = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        REQUIRE(std::isfinite(got[i]));
        norm = std::max(norm, double(std::fabs(want[i])));
        worst = std::max(worst, std::fabs(double(got[i]) - double(want[i]))
                                  - tol * std::fabs(double(want[i])));
      }
      CHECK(norm > (scale > 1 ? 10.0 : 0.01)); // fp16: the gradient carries the scale 1024
      CHECK(worst <= tol * 0.1 * norm); // near-cancelling sums: absolute, per micro-batch
    }
  }
}
