// worker_state's step sequence through a compute_backend, tested on the CPU: what a GPU
// backend is asked to copy and when, which rows it gets, and how loss scaling is driven.

#include "actors/worker_state.hpp"

#include <cstring>
#include <vector>

#include <catch2/catch.hpp>

#include "actors/compute_backend.hpp"
#include "actors/cpu_backend.hpp"
#include "tests/actors/synthetic_data.hpp"

using namespace herd;
using namespace herd::actors;

namespace {

// Records every call; the gradient is a fixed pattern, optionally non-finite.
class recording_backend final : public compute_backend {
public:
  recording_backend(size_t params, int batch, size_t features)
    : params_(params), grad_(params, 0.5f), x_(size_t(batch) * features), y_(size_t(batch)) {}
  std::string device() const override { return "fake"; }
  std::span<float> params() override { return params_; }
  std::span<const float> grad() const override { return grad_; }
  float* batch_x() override { return x_.data(); }
  uint8_t* batch_y() override { return y_.data(); }
  void params_ready(size_t offset, size_t count) override {
    ready.push_back({offset, count});
  }
  uint16_t* params16() override { return halves_.data(); }
  void params16_ready(size_t offset, size_t count, kernels::half_format f) override {
    ready16.push_back({offset, count});
    last16 = f;
  }
  backend_step_result step(int rows, const backend_step_options& opts) override {
    steps.push_back({rows, opts.loss_scale, opts.half.has_value()});
    first_y.assign(y_.begin(), y_.begin() + rows);
    return {1.25f, !overflow};
  }

  struct step_call {
    int rows;
    float scale;
    bool half;
  };
  std::vector<std::pair<size_t, size_t>> ready, ready16;
  kernels::half_format last16 = kernels::half_format::fp16;
  std::vector<step_call> steps;
  std::vector<uint8_t> first_y;
  bool overflow = false;

private:
  std::vector<float> params_, grad_, x_;
  std::vector<uint8_t> y_;
  std::vector<uint16_t> halves_ = std::vector<uint16_t>(1000);
};

struct fixture {
  std::shared_ptr<const model::mlp> net = std::make_shared<model::mlp>(std::vector<int>{6, 5, 3});
  std::shared_ptr<const data::dataset> train =
    std::make_shared<data::dataset>(test::synthetic_dataset(40, 6, 3, 7));
  std::vector<model::slice> slices = model::partition(net->param_count(), 3);
};

} // namespace

TEST_CASE("worker_state: each pulled slice is handed to the backend as it lands", "[actors]") {
  fixture f;
  auto be = std::make_unique<recording_backend>(f.net->param_count(), 8, 6);
  auto* rec = be.get();
  worker_state ws(0, f.net, f.train, f.slices, 8, std::move(be));
  CHECK(ws.params().data() == rec->params().data()); // pulls decode into the backend's buffer
  ws.slice_pulled(2);
  ws.slice_pulled(0);
  REQUIRE(rec->ready.size() == 2);
  CHECK(rec->ready[0] == std::make_pair(f.slices[2].offset, f.slices[2].count));
  CHECK(rec->ready[1] == std::make_pair(f.slices[0].offset, f.slices[0].count));
}

TEST_CASE("worker_state: the batch rows of the chunk reach the backend, the last one short",
          "[actors]") {
  fixture f;
  auto be = std::make_unique<recording_backend>(f.net->param_count(), 8, 6);
  auto* rec = be.get();
  worker_state ws(0, f.net, f.train, f.slices, 8, std::move(be));
  std::vector<uint32_t> idx{5, 3, 9, 1, 0, 2, 4, 8, 7, 6, 30};
  ws.set_chunk(messages::data_chunk{1, 0, idx});
  auto r = ws.compute_step();
  CHECK(r.loss == 1.25f);
  CHECK(!r.skipped);
  REQUIRE(rec->steps.size() == 1);
  CHECK(rec->steps[0].rows == 8);
  for (size_t i = 0; i < 8; ++i)
    CHECK(rec->first_y[i] == f.train->y[idx[i]]);
  CHECK(std::memcmp(rec->batch_x(), f.train->row(5), 6 * sizeof(float)) == 0);
  ws.compute_step();
  CHECK(rec->steps[1].rows == 3);
  CHECK(ws.last_samples() == 3);
  CHECK(!ws.has_batch());
}

TEST_CASE("worker_state: fp16 passes the loss scale and halves it on overflow, fp32 and bf16 "
          "do not scale",
          "[actors]") {
  fixture f;
  auto be = std::make_unique<recording_backend>(f.net->param_count(), 4, 6);
  auto* rec = be.get();
  worker_state ws(0, f.net, f.train, f.slices, 4, std::move(be));
  ws.set_chunk(messages::data_chunk{1, 0, std::vector<uint32_t>(20, 1)});
  ws.compute_step();
  CHECK(rec->steps.back().scale == 1.0f);
  CHECK(!rec->steps.back().half);
  ws.set_precision(kernels::half_format::bf16);
  ws.compute_step();
  CHECK(rec->steps.back().scale == 1.0f);
  CHECK(rec->steps.back().half);
  ws.set_precision(kernels::half_format::fp16);
  const float s0 = ws.loss_scale();
  ws.compute_step();
  CHECK(rec->steps.back().scale == s0);
  rec->overflow = true;
  CHECK(ws.compute_step().skipped);
  CHECK(ws.loss_scale() == s0 / 2);
  CHECK(rec->steps.back().scale == s0);
}

TEST_CASE("cpu_backend: the gradient equals mlp::train_step on the same batch", "[actors]") {
  fixture f;
  cpu_backend be(f.net, 8, 6);
  f.net->init(be.params().data(), 3);
  std::vector<float> params(be.params().begin(), be.params().end());
  std::memcpy(be.batch_x(), f.train->x.data(), 8 * 6 * sizeof(float));
  std::memcpy(be.batch_y(), f.train->y.data(), 8);
  auto r = be.step(8, {});
  std::vector<float> grad(f.net->param_count());
  model::mlp_workspace wsp;
  float loss = f.net->train_step(params.data(), f.train->x.data(), f.train->y.data(), 8,
                                 grad.data(), wsp);
  CHECK(r.loss == loss);
  CHECK(r.finite);
  CHECK(std::vector<float>(be.grad().begin(), be.grad().end()) == grad);
}

TEST_CASE("make_compute_backend: cpu works, cuda:N without a device fails with one line",
          "[actors]") {
  fixture f;
  auto cpu = make_compute_backend("cpu", f.net, 8, 6);
  REQUIRE(cpu);
  CHECK((*cpu)->device() == "cpu");
  CHECK(!check_device("cpu"));
  auto bad = make_compute_backend("gpu", f.net, 8, 6);
  REQUIRE(!bad);
  CHECK(code_of(bad.error()) == errc::invalid_argument);
  // cuda:999 exists on no machine, so this runs everywhere, GPU or not.
  auto none = make_compute_backend("cuda:999", f.net, 8, 6);
  REQUIRE(!none);
  CHECK(code_of(none.error()) == errc::device_unavailable);
  auto line = describe(none.error());
  INFO(line);
  CHECK(line.find("cuda:999") != std::string::npos);
  CHECK(line.find('\n') == std::string::npos);
  CHECK(code_of(check_device("cuda:999")) == errc::device_unavailable);
}

TEST_CASE("worker_state: pushes come from the backend only when it takes the encoding",
          "[actors]") {
  fixture f;
  struct encoding_backend final : compute_backend {
    cpu_backend inner;
    bool take;
    encoding_backend(fixture& f, bool t) : inner(f.net, 4, 6), take(t) {}
    std::string device() const override { return "fake"; }
    std::span<float> params() override { return inner.params(); }
    std::span<const float> grad() const override { return inner.grad(); }
    float* batch_x() override { return inner.batch_x(); }
    uint8_t* batch_y() override { return inner.batch_y(); }
    void params_ready(size_t, size_t) override {}
    backend_step_result step(int rows, const backend_step_options& o) override {
      return inner.step(rows, o);
    }
    bool take_push_encoding(const config::compression_config& cfg,
                            const std::vector<model::slice>& slices,
                            uint64_t) override {
      return take && cfg.codec == "topk" && slices.size() == 3;
    }
    std::vector<char> encode_push(const messages::gradient_header& h) override {
      return std::vector<char>(3, char('a' + h.shard));
    }
  };
  config::compression_config topk;
  topk.codec = "topk";
  worker_state takes(0, f.net, f.train, f.slices, 4, std::make_unique<encoding_backend>(f, true));
  takes.offer_push_encoding(topk, 1);
  CHECK(takes.pushes_from_backend());
  messages::gradient_header h;
  h.shard = 2;
  CHECK(takes.encode_push(h) == std::vector<char>(3, 'c'));
  worker_state declines(0, f.net, f.train, f.slices, 4,
                        std::make_unique<encoding_backend>(f, false));
  declines.offer_push_encoding(topk, 1);
  CHECK_FALSE(declines.pushes_from_backend());
  worker_state on_cpu(0, f.net, f.train, f.slices, 4); // the CPU backend always declines
  on_cpu.offer_push_encoding(topk, 1);
  CHECK_FALSE(on_cpu.pushes_from_backend());
}

TEST_CASE("worker_state: 16-bit pulls go to the backend unconverted only when it takes them "
          "and the job pulls bf16 or fp16",
          "[actors]") {
  fixture f;
  auto be = std::make_unique<recording_backend>(f.net->param_count(), 4, 6);
  auto* rec = be.get();
  worker_state ws(0, f.net, f.train, f.slices, 4, std::move(be));
  CHECK(ws.params16() == nullptr); // fp32 pulls: decode into params()
  ws.set_pull_16bit(true);
  CHECK(ws.params16() == rec->params16());
  ws.slice_pulled(1, kernels::half_format::bf16);
  REQUIRE(rec->ready16.size() == 1);
  CHECK(rec->ready16[0] == std::make_pair(f.slices[1].offset, f.slices[1].count));
  CHECK(rec->last16 == kernels::half_format::bf16);
  CHECK(rec->ready.empty());
  worker_state on_cpu(0, f.net, f.train, f.slices, 4);
  on_cpu.set_pull_16bit(true);
  CHECK(on_cpu.params16() == nullptr); // the CPU backend converts on decode, as before
}
