// gpu_bench: herd's GPU training step, to set beside bench/gpu/torch_mlp.py on the same card.
// Modes (one JSON line per configuration and mode, fields as torch_mlp.py's):
//   eager  forward + backward (model::mlp_cuda) + Adam on the device (adam_update_cuda),
//          launched kernel by kernel
//   graph  the same step captured once in a CUDA graph and replayed (Adam's step count is
//          frozen in the graph: timing only)
//   host   a host shard in the loop: the parameters go up from pinned memory, the step runs
//          through the worker's CUDA backend (graphed, gradient copied out per layer), the
//          gradient comes down and Adam runs on the host master copy (adam_update_cpu)
// Configurations: the Fashion-MNIST MLP 784-256-128-10 at batch 64 (fp32) and the wide MLP
// 784-4096-4096-4096-10 at batch 256 (tf32 and bf16). Validates first: the loss of a fixed
// batch must fall over the warm-up steps.
//
//   gpu_bench [--quick]

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include <cuda_runtime_api.h>

#include "actors/cuda_backend.hpp"
#include "bench/args.hpp"
#include "bench/machine.hpp"
#include "kernels/cpu/optimizer.hpp"
#include "kernels/cuda/cuda_raii.hpp"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/optimizer_cuda.hpp"
#include "model/mlp_cuda.hpp"

using namespace herd;
using namespace herd::kernels;

namespace {

struct bench_config {
  std::string name;
  std::vector<int> layers;
  int batch;
  gemm_type type;
};

struct stats {
  double median_ms, p10_ms, p90_ms;
};

stats summarize(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  auto at = [&](double q) { return t[size_t(q * double(t.size() - 1) + 0.5)]; };
  return {at(0.5), at(0.1), at(0.9)};
}

std::string gpu_name() {
  cudaDeviceProp p{};
  return cudaGetDeviceProperties(&p, 0) == cudaSuccess ? p.name : "unknown";
}

void print(const bench_config& c, const char* mode, const stats& s, int reps) {
  std::printf("{\"impl\": \"herd\", \"config\": \"%s\", \"mode\": \"%s\", \"batch\": %d, "
              "\"precision\": \"%s\", \"median_ms\": %.4f, \"p10_ms\": %.4f, \"p90_ms\": %.4f, "
              "\"reps\": %d, \"gpu\": \"%s\", \"host\": \"%s\"}\n",
              c.name.c_str(), mode, c.batch, gemm_type_name(c.type), s.median_ms, s.p10_ms,
              s.p90_ms, reps, bench::json_escape(gpu_name()).c_str(),
              bench::json_escape(bench::host_name()).c_str());
  std::fflush(stdout);
}

// Times `iters` calls of f per repetition with events on s; per-step milliseconds.
template <class F>
stats time_steps(F&& f, cudaStream_t s, int iters, int reps) {
  cuda_event a(true), b(true);
  std::vector<double> per_step;
  for (int r = 0; r < reps; ++r) {
    a.record(s);
    for (int i = 0; i < iters; ++i)
      f();
    b.record(s);
    b.sync();
    per_step.push_back(cuda_event::elapsed_ms(a, b) / iters);
  }
  return summarize(per_step);
}

struct device_model {
  model::mlp net;
  model::mlp_cuda gpu;
  device_buffer<float> m, v;
  device_model(const bench_config& c)
    : net(c.layers), gpu(net, c.batch, c.type), m(net.param_count()), v(net.param_count()) {}
};

bool run_device_modes(const bench_config& c, cudaStream_t s, int iters, int reps) {
  device_model dm(c);
  const size_t n = dm.net.param_count();
  std::vector<float> p(n);
  dm.net.init(p.data(), 1);
  std::mt19937_64 rng(7);
  std::normal_distribution<float> dist;
  std::vector<float> x(size_t(c.batch) * dm.net.inputs());
  for (auto& e : x)
    e = dist(rng);
  std::vector<uint8_t> y(size_t(c.batch));
  for (auto& e : y)
    e = uint8_t(rng() % uint64_t(dm.net.classes()));
  HERD_CUDA_CHECK(cudaMemcpy(dm.gpu.params(), p.data(), n * 4, cudaMemcpyHostToDevice));
  HERD_CUDA_CHECK(cudaMemcpy(dm.gpu.x(), x.data(), x.size() * 4, cudaMemcpyHostToDevice));
  HERD_CUDA_CHECK(cudaMemcpy(dm.gpu.y(), y.data(), y.size(), cudaMemcpyHostToDevice));
  HERD_CUDA_CHECK(cudaMemset(dm.m.get(), 0, n * 4));
  HERD_CUDA_CHECK(cudaMemset(dm.v.get(), 0, n * 4));
  HERD_CUDA_CHECK(cudaDeviceSynchronize());
  adam_params ap;
  int64_t t = 0;
  auto step = [&] {
    dm.gpu.train_step(c.batch, 1.0f, s);
    adam_update_cuda(dm.gpu.params(), dm.m.get(), dm.v.get(), dm.gpu.grad(), n, ap, ++t, s);
  };
  // Validation: 30 steps on one batch must lower its loss.
  float first = 0, last = 0;
  for (int i = 0; i < 30; ++i) {
    step();
    if (i == 0 || i == 29) {
      HERD_CUDA_CHECK(cudaStreamSynchronize(s));
      HERD_CUDA_CHECK(cudaMemcpy(i == 0 ? &first : &last, dm.gpu.loss(), 4,
                                 cudaMemcpyDeviceToHost));
    }
  }
  if (!(std::isfinite(last) && last < first)) {
    std::fprintf(stderr, "gpu_bench: %s: loss did not fall (%g -> %g)\n", c.name.c_str(),
                 first, last);
    return false;
  }
  print(c, "eager", time_steps(step, s, iters, reps), reps);
  cudaGraph_t g = nullptr;
  HERD_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  try {
    step();
  } catch (...) { // end the capture, so the stream serves the next configuration
    cudaStreamEndCapture(s, &g);
    if (g)
      cudaGraphDestroy(g);
    cudaGetLastError();
    throw;
  }
  HERD_CUDA_CHECK(cudaStreamEndCapture(s, &g));
  cudaGraphExec_t exec = nullptr;
  HERD_CUDA_CHECK(cudaGraphInstantiate(&exec, g, 0));
  auto launch = [&] { HERD_CUDA_CHECK(cudaGraphLaunch(exec, s)); };
  for (int i = 0; i < 10; ++i)
    launch();
  print(c, "graph", time_steps(launch, s, iters, reps), reps);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(g);
  return true;
}

// A host shard in the loop: wall-clock per step (host work is part of it).
void run_host_mode(const bench_config& c, int iters, int reps) {
  auto net = std::make_shared<const model::mlp>(c.layers);
  const size_t n = net->param_count();
  actors::cuda_backend_options o;
  o.fp32_gemm = c.type == gemm_type::tf32 ? gemm_type::tf32 : gemm_type::fp32;
  actors::cuda_backend be(0, net, c.batch, size_t(net->inputs()), o);
  std::vector<float> master(n), m(n, 0.0f), v(n, 0.0f);
  net->init(master.data(), 1);
  std::mt19937_64 rng(7);
  std::normal_distribution<float> dist;
  for (size_t i = 0; i < size_t(c.batch) * net->inputs(); ++i)
    be.batch_x()[i] = dist(rng);
  for (int i = 0; i < c.batch; ++i)
    be.batch_y()[i] = uint8_t(rng() % uint64_t(net->classes()));
  actors::backend_step_options so;
  if (c.type == gemm_type::bf16)
    so.half = half_format::bf16;
  adam_params ap;
  int64_t t = 0;
  auto step = [&] {
    std::memcpy(be.params().data(), master.data(), n * 4); // the pull lands in pinned memory
    be.params_ready(0, n);
    be.step(c.batch, so);
    adam_update_cpu(master.data(), m.data(), v.data(), be.grad().data(), n, ap, ++t);
  };
  for (int i = 0; i < 10; ++i)
    step();
  std::vector<double> per_step;
  for (int r = 0; r < reps; ++r) {
    auto a = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i)
      step();
    per_step.push_back(
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count()
      / iters);
  }
  print(c, "host", summarize(per_step), reps);
  if (be.graph_launches() == 0)
    std::fprintf(stderr, "gpu_bench: %s %s host: every step ran eagerly (%s)\n", c.name.c_str(),
                 gemm_type_name(c.type), be.graph_error().c_str());
}

} // namespace

int main(int argc, char** argv) {
  // The arguments first: --help and a bad argument need no device.
  const herd::bench::command_line cl{
    "gpu_bench",
    "usage: gpu_bench [--quick]\n"
    "  --quick  fewer iterations and repetitions (bench/gpu/run.sh --quick)\n"
    "Exits 77 when no CUDA device is visible.\n"};
  if (herd::bench::wants_help(argc, argv))
    return cl.help();
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") != 0)
      return cl.bad(std::string{"unknown argument \""} + argv[i] + "\"");
    quick = true;
  }
  if (cuda_device_count() == 0) {
    std::fprintf(stderr, "gpu_bench: no CUDA device\n");
    return 77;
  }
  try {
    use_device(0);
    cuda_stream s;
    const std::vector<bench_config> configs = {
      {"fmnist_mlp", {784, 256, 128, 10}, 64, gemm_type::fp32},
      {"wide_mlp", {784, 4096, 4096, 4096, 10}, 256, gemm_type::tf32},
      {"wide_mlp", {784, 4096, 4096, 4096, 10}, 256, gemm_type::bf16},
    };
    bool ok = true;
    for (const auto& c : configs) {
      const bool small = c.layers.size() == 4 && c.layers[1] == 256;
      const int iters = quick ? 20 : (small ? 500 : 100);
      const int reps = quick ? 3 : 7;
      // A failing configuration or mode is reported and the others still run.
      try {
        ok &= run_device_modes(c, s.get(), iters, reps);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "gpu_bench: %s %s eager/graph: %s\n", c.name.c_str(),
                     gemm_type_name(c.type), e.what());
        ok = false;
      }
      try {
        run_host_mode(c, quick ? 10 : (small ? 200 : 30), reps);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "gpu_bench: %s %s host: %s\n", c.name.c_str(),
                     gemm_type_name(c.type), e.what());
        ok = false;
      }
    }
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu_bench: %s\n", e.what());
    return 1;
  }
}
