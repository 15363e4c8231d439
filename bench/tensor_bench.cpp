// Tensor parallelism on one node: the step time of T rank actors (one BLAS thread each) against
// the unsplit step with one and with T BLAS threads, side by side in one run.
// Usage: tensor_bench [layers, default 784,4096,4096,4096,10] [batch, default 256] [steps, 10]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/system_config.hpp"
#include "actors/tensor_group.hpp"
#include "bench/args.hpp"
#include "bench/machine.hpp"
#include "kernels/cpu/blas_threads.hpp"

using namespace herd;
using clock_type = std::chrono::steady_clock;

namespace {

/// "784,4096,10" as layer widths; empty when an entry is not a whole number from 1 to 1000000.
std::vector<int> parse_layers(const std::string& s) {
  std::vector<int> out;
  std::stringstream in{s};
  for (std::string part; std::getline(in, part, ',');) {
    auto v = bench::positive_number(part.c_str(), 1000000);
    if (!v)
      return {};
    out.push_back(static_cast<int>(*v));
  }
  if (!s.empty() && s.back() == ',')
    return {};
  return out;
}

// Median milliseconds per step over `steps` after one warm-up step.
template <class Step>
double median_ms(int steps, Step step) {
  step();
  std::vector<double> ms;
  for (int i = 0; i < steps; ++i) {
    auto t0 = clock_type::now();
    step();
    ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
  const bench::command_line cl{
    "tensor_bench",
    "usage: tensor_bench [LAYERS [BATCH [STEPS]]]\n"
    "  LAYERS  widths a,b,c,... with at least 3 (default 784,4096,4096,4096,10)\n"
    "  BATCH   rows per step (default 256)\n"
    "  STEPS   timed steps per configuration (default 10)\n"};
  if (bench::wants_help(argc, argv))
    return cl.help();
  if (argc > 4)
    return cl.bad(std::string{"unexpected argument \""} + argv[4] + "\"");
  if (argc > 1 && std::strncmp(argv[1], "--", 2) == 0)
    return cl.bad(std::string{"unknown option \""} + argv[1] + "\"");
  auto layers = parse_layers(argc > 1 ? argv[1] : "784,4096,4096,4096,10");
  if (layers.size() < 3)
    return cl.bad(std::string{"LAYERS: expected at least 3 whole numbers from 1 to 1000000 "
                              "separated by commas, got \""} + argv[1] + "\"");
  int numbers[2] = {256, 10}; // batch, steps
  const char* names[2] = {"BATCH", "STEPS"};
  for (int i = 2; i < argc; ++i) {
    auto v = bench::positive_number(argv[i], 1000000);
    if (!v)
      return cl.bad(bench::not_positive(names[i - 2], argv[i], 1000000));
    numbers[i - 2] = static_cast<int>(*v);
  }
  const int batch = numbers[0], steps = numbers[1];
  auto net = std::make_shared<const model::mlp>(layers);
  std::vector<float> params(net->param_count()), grad(net->param_count());
  net->init(params.data(), 1);
  std::mt19937_64 gen{1};
  std::normal_distribution<float> dist;
  std::vector<float> x(size_t(batch) * size_t(layers.front()));
  for (auto& v : x)
    v = dist(gen);
  std::vector<uint8_t> y(static_cast<size_t>(batch));
  for (auto& v : y)
    v = uint8_t(gen() % uint64_t(layers.back()));
  unsigned cores = std::thread::hardware_concurrency();
  std::printf("# %s, %u cores; MLP %s, batch %d, median of %d steps\n",
              bench::cpu_model().c_str(), cores, argc > 1 ? argv[1] : "784,4096,4096,4096,10",
              batch, steps);
  std::printf("%-34s %10s %8s\n", "step", "ms", "vs 1T");
  model::mlp_workspace ws;
  kernels::set_blas_threads(1);
  double base = median_ms(steps, [&] {
    net->train_step(params.data(), x.data(), y.data(), batch, grad.data(), ws);
  });
  std::printf("%-34s %10.2f %8.2f\n", "unsplit, 1 BLAS thread", base, 1.0);
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  for (int t = 2; t <= int(std::max(2u, cores)); t *= 2) {
    kernels::set_blas_threads(t);
    double threaded = median_ms(steps, [&] {
      net->train_step(params.data(), x.data(), y.data(), batch, grad.data(), ws);
    });
    kernels::set_blas_threads(1);
    actors::tensor_group group{sys, net, t, std::chrono::minutes{5}};
    double split = median_ms(steps, [&] {
      group.train_step(params.data(), x.data(), y.data(), batch, grad.data());
    });
    char name[64];
    std::snprintf(name, sizeof name, "unsplit, %d BLAS threads", t);
    std::printf("%-34s %10.2f %8.2f\n", name, threaded, base / threaded);
    std::snprintf(name, sizeof name, "%d tensor ranks, 1 BLAS thread each", t);
    std::printf("%-34s %10.2f %8.2f\n", name, split, base / split);
  }
  return 0;
}
