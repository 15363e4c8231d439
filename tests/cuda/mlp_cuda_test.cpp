// The GPU training step against the CPU one: model::mlp_cuda vs model::mlp, and the CUDA
// compute backend (pinned buffers, overlap, graphs) vs the CPU backend.

#include "model/mlp_cuda.hpp"

#include <cstring>
#include <vector>

#include <catch2/catch.hpp>

#include "actors/cpu_backend.hpp"
#include "actors/cuda_backend.hpp"
#include "kernels/compress/half.hpp"
#include "model/mlp.hpp"
#include "tests/cuda/device_util.hpp"
#include "tests/kernels/test_util.hpp"

using namespace herd;
using namespace herd::kernels;
using namespace herd::kernels::test;

namespace {

struct batch {
  std::vector<float> x;
  std::vector<uint8_t> y;
};

batch random_batch(std::mt19937_64& rng, int rows, int inputs, int classes) {
  batch b{random_floats(rng, size_t(rows) * inputs), std::vector<uint8_t>(size_t(rows))};
  for (auto& l : b.y)
    l = uint8_t(std::uniform_int_distribution<int>(0, classes - 1)(rng));
  return b;
}

} // namespace

TEST_CASE("mlp_cuda: loss and gradient match mlp::train_step in fp32, tf32 and bf16",
          "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  cuda_stream s;
  for (auto layers : {std::vector<int>{784, 256, 128, 10}, std::vector<int>{1, 1},
                      std::vector<int>{257, 255, 256, 3}})
    for (int rows : {1, 64, 257})
      for (auto type : {gemm_type::fp32, gemm_type::tf32, gemm_type::bf16}) {
        INFO("layers " << layers.size() << " rows " << rows << " " << gemm_type_name(type));
        model::mlp net(layers);
        std::vector<float> params(net.param_count());
        net.init(params.data(), seed);
        auto b = random_batch(rng, rows, net.inputs(), net.classes());
        std::vector<float> grad(net.param_count());
        model::mlp_workspace ws;
        model::step_options o;
        if (type == gemm_type::bf16)
          o.half = half_format::bf16;
        std::vector<float> p_cpu = params, x_cpu = b.x;
        if (o.half) { // the CPU emulation rounds its operands; mlp_cuda casts them
          round_to_half_cpu(p_cpu.data(), p_cpu.size(), *o.half);
          round_to_half_cpu(x_cpu.data(), x_cpu.size(), *o.half);
        }
        float loss = net.train_step(p_cpu.data(), x_cpu.data(), b.y.data(), rows, grad.data(),
                                    ws, o);
        model::mlp_cuda gpu(net, rows, type);
        HERD_CUDA_CHECK(cudaMemcpy(gpu.params(), params.data(), params.size() * 4,
                                   cudaMemcpyHostToDevice));
        HERD_CUDA_CHECK(cudaMemcpy(gpu.x(), b.x.data(), b.x.size() * 4,
                                   cudaMemcpyHostToDevice));
        HERD_CUDA_CHECK(cudaMemcpy(gpu.y(), b.y.data(), b.y.size(), cudaMemcpyHostToDevice));
        HERD_CUDA_CHECK(cudaDeviceSynchronize());
        gpu.train_step(rows, 1.0f, s.get());
        s.sync();
        std::vector<float> g(net.param_count());
        float l = 0;
        HERD_CUDA_CHECK(cudaMemcpy(g.data(), gpu.grad(), g.size() * 4, cudaMemcpyDeviceToHost));
        HERD_CUDA_CHECK(cudaMemcpy(&l, gpu.loss(), 4, cudaMemcpyDeviceToHost));
        const double rtol = type == gemm_type::fp32 ? 1e-4 : 2e-2;
        CHECK(close(l, loss, rtol, rtol));
        // Gradients near zero get an absolute allowance scaled to the largest one.
        double gmax = 0;
        for (float v : grad)
          gmax = std::max(gmax, double(std::fabs(v)));
        check_close(g, grad, rtol * gmax, rtol);
      }
}

TEST_CASE("cuda_backend: eager, graphed and overlapped steps give the CPU backend's gradient",
          "[cuda]") {
  const auto seed = test_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  auto net = std::make_shared<const model::mlp>(std::vector<int>{784, 256, 128, 10});
  const int batch_rows = 64;
  actors::cpu_backend cpu(net, batch_rows, 784);
  for (bool graphs : {false, true})
    for (bool overlap : {false, true}) {
      INFO("graphs " << graphs << " overlap " << overlap);
      actors::cuda_backend_options opts;
      opts.graphs = graphs;
      opts.overlap = overlap;
      actors::cuda_backend gpu(0, net, batch_rows, 784, opts);
      for (int step = 0; step < 4; ++step) {
        const int rows = step == 3 ? 17 : batch_rows; // a short last batch runs eagerly
        net->init(cpu.params().data(), seed + step);
        std::memcpy(gpu.params().data(), cpu.params().data(), cpu.params().size_bytes());
        // Two slices, reported separately, as pulls from two shards land.
        const size_t half = net->param_count() / 2;
        gpu.params_ready(half, net->param_count() - half);
        gpu.params_ready(0, half);
        auto b = random_batch(rng, rows, 784, 10);
        std::memcpy(cpu.batch_x(), b.x.data(), b.x.size() * 4);
        std::memcpy(gpu.batch_x(), b.x.data(), b.x.size() * 4);
        std::memcpy(cpu.batch_y(), b.y.data(), b.y.size());
        std::memcpy(gpu.batch_y(), b.y.data(), b.y.size());
        auto rc = cpu.step(rows, {});
        auto rg = gpu.step(rows, {});
        CHECK(rg.finite);
        CHECK(close(rg.loss, rc.loss, 1e-4, 1e-4));
        std::vector<float> gc(cpu.grad().begin(), cpu.grad().end());
        std::vector<float> gg(gpu.grad().begin(), gpu.grad().end());
        check_close(gg, gc, 1e-6, 1e-3);
      }
      // Step 0 warms up eagerly, step 1 is captured and launched, step 2 launched.
      INFO("graph error: " << gpu.graph_error());
      CHECK(gpu.graph_error().empty());
      CHECK(gpu.graph_launches() == (graphs ? 2u : 0u));
      CHECK(gpu.graph_captures() == (graphs ? 1u : 0u));
    }
}

TEST_CASE("cuda_backend: fp16 with loss scaling unscales on the device and flags overflow",
          "[cuda]") {
  auto net = std::make_shared<const model::mlp>(std::vector<int>{784, 64, 10});
  actors::cuda_backend gpu(0, net, 32, 784);
  net->init(gpu.params().data(), 5);
  gpu.params_ready(0, net->param_count());
  std::mt19937_64 rng(test_seed());
  auto b = random_batch(rng, 32, 784, 10);
  std::memcpy(gpu.batch_x(), b.x.data(), b.x.size() * 4);
  std::memcpy(gpu.batch_y(), b.y.data(), b.y.size());
  actors::backend_step_options o;
  o.half = half_format::fp16;
  o.loss_scale = 1024.0f;
  for (int step = 0; step < 2; ++step) { // eager warm-up, then graphed
    auto ok = gpu.step(32, o);
    CHECK(ok.finite);
    double gmax = 0;
    for (float v : gpu.grad())
      gmax = std::max(gmax, double(std::fabs(v)));
    CHECK(gmax < 100.0); // unscaled: a mean-loss gradient, not 1024 times one
  }
  CHECK(gpu.graph_launches() == 1u);
  o.loss_scale = 1e30f; // overflows fp16 in the backward pass
  CHECK(!gpu.step(32, o).finite);
  CHECK(!gpu.step(32, o).finite); // graphed
  INFO("graph error: " << gpu.graph_error());
  CHECK(gpu.graph_captures() == 2u);
}

TEST_CASE("cuda_backend: bf16 and fp16 pulls converted on the device give the host's values",
          "[cuda]") {
  auto net = std::make_shared<const model::mlp>(std::vector<int>{784, 64, 10});
  const size_t n = net->param_count();
  std::mt19937_64 rng(test_seed());
  auto b = random_batch(rng, 32, 784, 10);
  for (auto f : {half_format::bf16, half_format::fp16}) {
    actors::cuda_backend via16(0, net, 32, 784), via32(0, net, 32, 784);
    std::vector<float> p(n);
    net->init(p.data(), 9);
    uint16_t* h = via16.params16();
    REQUIRE(h != nullptr);
    for (size_t i = 0; i < n; ++i) {
      h[i] = f == half_format::bf16 ? compress::float_to_bf16(p[i])
                                    : compress::float_to_fp16(p[i]);
      via32.params()[i] = f == half_format::bf16 ? compress::bf16_to_float(h[i])
                                                 : compress::fp16_to_float(h[i]);
    }
    via16.params16_ready(0, n / 3, f); // two slices, as from two shards
    via16.params16_ready(n / 3, n - n / 3, f);
    via32.params_ready(0, n);
    for (auto* be : {&via16, &via32}) {
      std::memcpy(be->batch_x(), b.x.data(), b.x.size() * 4);
      std::memcpy(be->batch_y(), b.y.data(), b.y.size());
    }
    auto r16 = via16.step(32, {});
    auto r32 = via32.step(32, {});
    CHECK(r16.loss == r32.loss);
    CHECK(std::vector<float>(via16.grad().begin(), via16.grad().end())
          == std::vector<float>(via32.grad().begin(), via32.grad().end()));
  }
}
