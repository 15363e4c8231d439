#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "model/mlp.hpp"

using herd::model::mlp;
using herd::model::mlp_workspace;

namespace {

struct batch {
  std::vector<float> x;
  std::vector<uint8_t> y;
};

batch random_batch(int rows, int in, int classes, uint64_t seed) {
  std::mt19937_64 gen{seed};
  std::normal_distribution<float> dist;
  batch b;
  b.x.resize(size_t(rows) * in);
  for (auto& v : b.x)
    v = dist(gen);
  b.y.resize(rows);
  for (auto& v : b.y)
    v = static_cast<uint8_t>(gen() % classes);
  return b;
}

// Mean loss in double precision, recomputed from scratch (independent of train_step).
double loss_ref(const mlp& net, const std::vector<double>& p, const batch& b, int rows) {
  double total = 0;
  for (int r = 0; r < rows; ++r) {
    std::vector<double> a(b.x.begin() + size_t(r) * net.inputs(),
                          b.x.begin() + size_t(r + 1) * net.inputs());
    const auto& layers = net.layers();
    for (size_t l = 0; l < layers.size(); ++l) {
      const auto& v = layers[l];
      std::vector<double> z(v.out);
      for (int o = 0; o < v.out; ++o) {
        double s = p[v.b_offset + o];
        for (int i = 0; i < v.in; ++i)
          s += p[v.w_offset + size_t(o) * v.in + i] * a[i];
        z[o] = (l + 1 < layers.size()) ? std::max(0.0, s) : s;
      }
      a = std::move(z);
    }
    double mx = a[0];
    for (double v : a)
      mx = std::max(mx, v);
    double sum = 0;
    for (double v : a)
      sum += std::exp(v - mx);
    total += -(a[b.y[r]] - mx - std::log(sum));
  }
  return total / rows;
}

} // namespace

TEST_CASE("mlp: the flat layout puts each layer's weights then its bias", "[model]") {
  mlp net{{784, 256, 128, 10}};
  CHECK(net.param_count() == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
  CHECK(net.layers()[1].w_offset == 784 * 256 + 256);
  CHECK(net.layers()[2].b_offset == net.param_count() - 10);
}

TEST_CASE("mlp: backpropagation matches finite differences of the loss", "[model]") {
  uint64_t seed = GENERATE(11u, 12u);
  INFO("seed " << seed);
  mlp net{{6, 9, 7, 4}};
  std::vector<float> params(net.param_count());
  net.init(params.data(), seed);
  std::mt19937_64 gen{seed};
  std::uniform_real_distribution<float> bias{-0.3f, 0.3f};
  for (const auto& v : net.layers())
    for (int o = 0; o < v.out; ++o)
      params[v.b_offset + o] = bias(gen); // non-zero biases so their gradient is exercised
  const int rows = 5;
  auto b = random_batch(rows, 6, 4, seed + 100);
  std::vector<float> grad(net.param_count());
  mlp_workspace ws;
  float loss = net.train_step(params.data(), b.x.data(), b.y.data(), rows, grad.data(), ws);
  std::vector<double> p(params.begin(), params.end());
  CHECK(loss == Approx(loss_ref(net, p, b, rows)).epsilon(1e-5));
  const double h = 1e-5;
  for (size_t i = 0; i < p.size(); ++i) {
    auto saved = p[i];
    p[i] = saved + h;
    double up = loss_ref(net, p, b, rows);
    p[i] = saved - h;
    double down = loss_ref(net, p, b, rows);
    p[i] = saved;
    double numeric = (up - down) / (2 * h);
    INFO("parameter " << i);
    REQUIRE(std::fabs(grad[i] - numeric) <= 2e-4 + 2e-3 * std::fabs(numeric));
  }
}

TEST_CASE("mlp: evaluate counts correct predictions and sums the loss", "[model]") {
  mlp net{{5, 8, 3}};
  std::vector<float> params(net.param_count());
  net.init(params.data(), 3);
  auto b = random_batch(40, 5, 3, 4);
  mlp_workspace ws;
  auto r = net.evaluate(params.data(), b.x.data(), b.y.data(), 40, ws);
  std::vector<double> p(params.begin(), params.end());
  CHECK(r.rows == 40);
  CHECK(r.loss_sum / 40 == Approx(loss_ref(net, p, b, 40)).epsilon(1e-5));
  CHECK(r.correct >= 0);
  CHECK(r.correct <= 40);
  // Labels set to each row's own prediction are all counted correct.
  std::vector<float> grad(net.param_count());
  std::vector<uint8_t> predicted(40);
  for (int row = 0; row < 40; ++row) {
    const float* logits = ws.acts.back().data() + size_t(row) * 3;
    predicted[row] = static_cast<uint8_t>(std::max_element(logits, logits + 3) - logits);
  }
  CHECK(net.evaluate(params.data(), b.x.data(), predicted.data(), 40, ws).correct == 40);
}

TEST_CASE("mlp: init is deterministic per seed and scaled by fan-in", "[model]") {
  mlp net{{400, 300, 10}};
  std::vector<float> a(net.param_count()), b(net.param_count()), c(net.param_count());
  net.init(a.data(), 5);
  net.init(b.data(), 5);
  net.init(c.data(), 6);
  CHECK(a == b);
  CHECK(a != c);
  double sq = 0;
  const auto& l0 = net.layers()[0];
  for (size_t i = 0; i < size_t(l0.in) * l0.out; ++i)
    sq += double(a[l0.w_offset + i]) * a[l0.w_offset + i];
  double var = sq / (double(l0.in) * l0.out);
  CHECK(var == Approx(2.0 / 400).epsilon(0.05));
}

TEST_CASE("mlp: bf16 and fp16 steps stay close to fp32 and scale the gradient", "[model]") {
  mlp net{{30, 24, 5}};
  std::vector<float> params(net.param_count());
  net.init(params.data(), 21);
  auto b = random_batch(16, 30, 5, 22);
  std::vector<float> g32(net.param_count()), g16(net.param_count());
  mlp_workspace ws;
  float l32 = net.train_step(params.data(), b.x.data(), b.y.data(), 16, g32.data(), ws);
  for (auto f : {herd::kernels::half_format::bf16, herd::kernels::half_format::fp16}) {
    INFO((f == herd::kernels::half_format::bf16 ? "bf16" : "fp16"));
    std::vector<float> hp(params.size()), hx(b.x.size());
    herd::kernels::round_to_half_cpu(params.data(), hp.data(), hp.size(), f);
    herd::kernels::round_to_half_cpu(b.x.data(), hx.data(), hx.size(), f);
    herd::model::step_options opts;
    opts.half = f;
    opts.loss_scale = 256.0f;
    float l16 = net.train_step(hp.data(), hx.data(), b.y.data(), 16, g16.data(), ws, opts);
    CHECK(l16 == Approx(l32).epsilon(0.02));
    double num = 0, den = 0;
    for (size_t i = 0; i < g32.size(); ++i) {
      double d = g16[i] / 256.0 - g32[i];
      num += d * d;
      den += double(g32[i]) * g32[i];
    }
    CHECK(std::sqrt(num / den) < (f == herd::kernels::half_format::bf16 ? 0.05 : 0.01));
  }
}

TEST_CASE("mlp: an fp16 step with too large a loss scale overflows to inf", "[model]") {
  mlp net{{30, 24, 5}};
  std::vector<float> params(net.param_count());
  net.init(params.data(), 23);
  auto b = random_batch(16, 30, 5, 24);
  std::vector<float> grad(net.param_count());
  mlp_workspace ws;
  herd::model::step_options opts;
  opts.half = herd::kernels::half_format::fp16;
  opts.loss_scale = 1e9f;
  net.train_step(params.data(), b.x.data(), b.y.data(), 16, grad.data(), ws, opts);
  size_t inf = 0;
  for (float g : grad)
    inf += !std::isfinite(g);
  CHECK(inf > 0);
}
