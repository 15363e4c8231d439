// job_bench: training throughput (samples/s) of the in-process job on Fashion-MNIST, for
// 1 worker + 1 shard and 2 workers + 2 shards, measured side by side in one run.
// MLP 784-256-128-10, batch 64 per worker, SGD (lr 0.02, momentum 0.9), evaluation only at the
// end. Each configuration first runs once unmeasured and must reach more than 80% test accuracy
// (the validation and warm-up); then the configurations alternate, `repeats` timed runs each, and
// each prints one JSON line with the median, min and max. Not part of the test run.
//
//   job_bench [--epochs N] [--repeats N]     (defaults: 1 epoch, 3 repeats)
//
// samples_per_s is job_result::samples_per_s: training samples over training wall time, the final
// evaluation excluded.

#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/job.hpp"
#include "actors/system_config.hpp"
#include "bench/args.hpp"
#include "bench/machine.hpp"
#include "kernels/cpu/blas_threads.hpp"

using namespace herd;

namespace {

using herd::bench::cpu_model;
using herd::bench::host_name;
using herd::bench::json_escape;

constexpr double min_accuracy = 0.80;
constexpr int batch = 64;

struct topology {
  int workers, shards;
};

struct options {
  int epochs = 1;
  int repeats = 3;
};

/// Cores this process may run on (what nproc prints).
int cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    return CPU_COUNT(&set);
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

const bench::command_line command{
  "job_bench",
  "usage: job_bench [--epochs N] [--repeats N]\n"
  "  --epochs N   epochs per run (default 1)\n"
  "  --repeats N  timed runs per configuration (default 3)\n"};

/// 0 when the options are read into `opts`, else the exit code (2) after printing why.
int parse_options(int argc, char** argv, options& opts) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    int* target = arg == "--epochs" ? &opts.epochs : arg == "--repeats" ? &opts.repeats : nullptr;
    if (!target)
      return command.bad("unknown argument \"" + arg + "\"");
    if (i + 1 >= argc)
      return command.bad(arg + ": expected a value");
    auto v = bench::positive_number(argv[++i], 999999);
    if (!v)
      return command.bad(bench::not_positive(arg, argv[i], 999999));
    *target = static_cast<int>(*v);
  }
  return 0;
}

config::job_config job_for(const options& opts, topology t) {
  config::job_config cfg;
  cfg.name = "job_bench";
  cfg.model.layers = {784, 256, 128, 10};
  cfg.optimizer.type = config::optimizer_kind::sgd;
  cfg.optimizer.lr = 0.02;
  cfg.optimizer.momentum = 0.9;
  cfg.optimizer.schedule = config::lr_schedule::constant;
  cfg.training.batch_size = batch;
  cfg.training.epochs = opts.epochs;
  cfg.training.eval_every = 0;
  cfg.training.log_every = 0;
  cfg.training.target_accuracy = 0;
  cfg.shards.assign(size_t(t.shards), config::shard_config{cfg.nodes.front().name});
  cfg.workers.assign(size_t(t.workers), config::worker_config{cfg.nodes.front().name, "cpu", {}});
  return cfg;
}

/// One run of the job; the samples/s, or a negative value after printing why it is invalid.
double run_once(caf::actor_system& sys, const actors::job_inputs& in, topology t) {
  auto r = actors::run_job(sys, in);
  if (!r) {
    std::fprintf(stderr, "job_bench: workers %d shards %d: the job failed: %s\n", t.workers,
                 t.shards, describe(r.error()).c_str());
    return -1;
  }
  if (!(r->final_eval.accuracy > min_accuracy)) {
    std::fprintf(stderr,
                 "job_bench: workers %d shards %d: final test accuracy %.4f, expected more than "
                 "%.2f\n",
                 t.workers, t.shards, r->final_eval.accuracy, min_accuracy);
    return -1;
  }
  return r->samples_per_s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

} // namespace

int main(int argc, char** argv) {
  options opts;
  if (bench::wants_help(argc, argv))
    return command.help();
  if (int rc = parse_options(argc, argv, opts))
    return rc;
  const std::vector<topology> topologies = {{1, 1}, {2, 2}};
  const std::string machine = json_escape(cpu_model()) + ", " + std::to_string(cores())
                              + " cores";

  // The data is loaded and normalised once; every run shares it.
  auto data = actors::load_inputs(job_for(opts, topologies.front()));
  if (!data) {
    std::fprintf(stderr, "job_bench: %s\n", describe(data.error()).c_str());
    return 1;
  }
  std::vector<actors::job_inputs> inputs;
  for (auto t : topologies) {
    inputs.push_back(*data);
    inputs.back().cfg = job_for(opts, t);
  }
  kernels::set_blas_threads(1); // as `herd run` with the default training.blas_threads

  actors::system_config cfg;
  caf::actor_system sys{cfg};

  // Validate and warm up: one unmeasured run per configuration.
  for (size_t i = 0; i < topologies.size(); ++i)
    if (run_once(sys, inputs[i], topologies[i]) < 0)
      return 1;

  // Alternate the configurations so that drift in the machine's speed hits both alike.
  std::vector<std::vector<double>> rates(topologies.size());
  for (int rep = 0; rep < opts.repeats; ++rep)
    for (size_t i = 0; i < topologies.size(); ++i) {
      double r = run_once(sys, inputs[i], topologies[i]);
      if (r < 0)
        return 1;
      std::fprintf(stderr, "job_bench: workers %d shards %d: run %d/%d: %.0f samples/s\n",
                   topologies[i].workers, topologies[i].shards, rep + 1, opts.repeats, r);
      rates[i].push_back(r);
    }

  for (size_t i = 0; i < topologies.size(); ++i) {
    const auto& v = rates[i];
    std::printf("{\"bench\":\"job\",\"workers\":%d,\"shards\":%d,\"batch\":%d,\"epochs\":%d,"
                "\"samples_per_s_median\":%.1f,\"min\":%.1f,\"max\":%.1f,\"repeats\":%d,"
                "\"machine\":\"%s\"}\n",
                topologies[i].workers, topologies[i].shards, batch, opts.epochs, median(v),
                *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end()),
                opts.repeats, machine.c_str());
  }
  return 0;
}
