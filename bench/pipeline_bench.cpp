// pipeline_bench: the measured pipeline bubble (idle fraction of a stage over a minibatch's
// GPipe schedule) against the ideal (K-1)/(M+K-1), for K = 2, 4 stages and M = 4, 8, 16
// micro-batches, in one process. Not part of the test run.
//
// Model: a synthetic MLP balanced by compute, 384-256-256-256-170, so each stage holds the same
// work (K = 2: two layers each; K = 4: one each). Per row and 256 x 256 unit, a hidden layer
// costs 1 forward + 2 backward. The first layer computes no delta for its input, so it is 1.5x
// wider (1.5 + 1.5); the output layer is narrower because softmax cross-entropy adds about half
// a unit per 256 classes (170 classes: 0.66 x 3 + 1.0, measured). Batch 16384 per minibatch,
// so a micro-batch is 1024..4096 rows and messaging is small beside the GEMMs (at batch 2048 it
// was not: see docs/parallelism.md). One replica, BSP, one shard per stage, OpenBLAS on 1
// thread (each stage is one thread). The span of a minibatch starts at stage 0's first forward
// (after it copied the rows out of the training set) and ends with its last backward.
//
// Validation first: each configuration's run must have lowered the training loss. Each
// configuration runs `steps` minibatches; the first is left out (warm-up); the figure is the
// mean over the remaining minibatches and over the stages, with each stage's value and the
// spread across stages printed too.
//
// Caution: the stages of a replica run concurrently on their own threads. With fewer cores than
// stages (nproc and the load average are printed), stages time-share cores: a micro-batch's
// compute takes longer while the pipeline is full than while it fills or drains, and the
// measured idle fraction departs from the ideal (on the 2-core machine of docs/parallelism.md it
// rose well above it for K = 4 at M = 8 and 16). That is what the machine does, not an error of
// the measurement.
//
//   pipeline_bench [--steps N] [--schedule gpipe|1f1b]     (defaults: 12, gpipe; N >= 2)

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/job.hpp"
#include "actors/system_config.hpp"
#include "bench/args.hpp"
#include "bench/machine.hpp"
#include "kernels/cpu/blas_threads.hpp"
#include "tests/actors/synthetic_data.hpp"

using namespace herd;

namespace {

// The 1-minute load average: on a shared machine, other processes take cores from the stages.
std::string load_average() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  char buf[64] = "?";
  if (f) {
    if (std::fscanf(f, "%63s", buf) != 1)
      std::snprintf(buf, sizeof buf, "?");
    std::fclose(f);
  }
  return buf;
}

constexpr int width = 256;
constexpr int input = 384; // 1.5 x width: see the top of the file
constexpr int classes = 170; // the output layer plus softmax weigh as much as a hidden layer
constexpr int batch = 16384;

actors::job_inputs job(int stages, int micro, int steps,
                       std::shared_ptr<const data::dataset> train,
                       std::shared_ptr<const data::dataset> test) {
  actors::job_inputs in;
  auto& cfg = in.cfg;
  cfg.model.layers = {input, width, width, width, classes};
  cfg.optimizer.lr = 0.01;
  cfg.training.batch_size = batch;
  cfg.training.epochs = 0; // unlimited; max_steps ends it
  cfg.training.max_steps = steps;
  cfg.training.eval_every = 0;
  cfg.training.blas_threads = 1;
  cfg.data.test_limit = 256;
  cfg.parallelism.pipeline_stages = stages;
  cfg.parallelism.micro_batches = micro;
  cfg.shards.assign(size_t(stages), config::shard_config{"local"});
  cfg.workers.assign(size_t(stages), config::worker_config{"local", "cpu", {}});
  in.train = std::move(train);
  in.test = std::move(test);
  return in;
}

} // namespace

int main(int argc, char** argv) {
  const bench::command_line cl{
    "pipeline_bench",
    "usage: pipeline_bench [--steps N] [--schedule gpipe|1f1b]\n"
    "  --steps N     minibatches per configuration, the first a warm-up (default 12;\n"
    "                1 runs 2)\n"
    "  --schedule S  gpipe (default) or 1f1b\n"};
  if (bench::wants_help(argc, argv))
    return cl.help();
  int steps = 12;
  auto schedule = config::pipeline_schedule::gpipe;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg != "--steps" && arg != "--schedule")
      return cl.bad("unknown argument \"" + arg + "\"");
    if (i + 1 >= argc)
      return cl.bad(arg + ": expected a value");
    const char* value = argv[++i];
    if (arg == "--steps") {
      auto v = bench::positive_number(value, 100000);
      if (!v)
        return cl.bad(bench::not_positive(arg, value, 100000));
      steps = std::max(2, static_cast<int>(*v));
    } else if (std::strcmp(value, "gpipe") == 0) {
      schedule = config::pipeline_schedule::gpipe;
    } else if (std::strcmp(value, "1f1b") == 0) {
      schedule = config::pipeline_schedule::one_f_one_b;
    } else {
      return cl.bad(arg + ": expected \"gpipe\" or \"1f1b\", got \"" + value + "\"");
    }
  }
  kernels::set_blas_threads(1);
  auto train = std::make_shared<const data::dataset>(
    test::synthetic_dataset(size_t(batch) * 2, input, classes, 1));
  auto test = std::make_shared<const data::dataset>(test::synthetic_dataset(256, input, classes, 2));
  unsigned cores = std::thread::hardware_concurrency();
  std::printf("# pipeline_bench on %s (%s), nproc %u; MLP %d-%d-%d-%d-%d, batch %d, %d steps\n",
              bench::host_name().c_str(), bench::cpu_model().c_str(), cores, input, width, width,
              width, classes, batch, steps);
  std::printf("# schedule %s; load average (1 min) at the start: %s\n",
              config::to_string(schedule), load_average().c_str());
  std::printf("# %-3s %-3s %-8s %-8s %-8s %-8s %s\n", "K", "M", "ideal", "measured", "min", "max",
              "per stage");
  int failures = 0;
  for (int k : {2, 4})
    for (int m : {4, 8, 16}) {
      actors::system_config scfg;
      caf::actor_system sys{scfg};
      auto in = job(k, m, steps, train, test);
      in.cfg.parallelism.schedule = schedule;
      if (auto err = actors::check_pipeline(in.cfg)) {
        std::fprintf(stderr, "K=%d M=%d: %s\n", k, m, describe(err).c_str());
        return 1;
      }
      double first_loss = -1, last_loss = -1;
      actors::job_callbacks cb;
      cb.on_progress = [&](const actors::progress_info& p) {
        if (first_loss < 0 && p.samples > 0)
          first_loss = p.loss;
        last_loss = p.loss;
      };
      auto r = actors::run_job(sys, in, cb);
      if (!r || r->stage_idle.size() != size_t(k) || !(last_loss < first_loss)) {
        std::fprintf(stderr, "K=%d M=%d: run failed or did not train (%s)\n", k, m,
                     r ? "loss did not fall" : describe(r.error()).c_str());
        ++failures;
        continue;
      }
      double ideal = double(k - 1) / double(m + k - 1);
      double sum = 0, lo = 1, hi = 0;
      std::string per, json_per;
      for (auto& [id, idle] : r->stage_idle) {
        sum += idle;
        lo = std::min(lo, idle);
        hi = std::max(hi, idle);
        char b[32];
        std::snprintf(b, sizeof b, "%s%.3f", per.empty() ? "" : " ", idle);
        per += b;
        json_per += std::string(json_per.empty() ? "" : ",") + (b[0] == ' ' ? b + 1 : b);
      }
      double mean = sum / double(k);
      std::printf("  %-3d %-3d %-8.3f %-8.3f %-8.3f %-8.3f %s\n", k, m, ideal, mean, lo, hi,
                  per.c_str());
      std::printf("{\"bench\":\"pipeline\",\"host\":\"%s\",\"nproc\":%u,\"stages\":%d,"
                  "\"micro_batches\":%d,\"schedule\":\"%s\",\"ideal_idle\":%.4f,\"measured_idle\":%.4f,"
                  "\"min\":%.4f,\"max\":%.4f,\"per_stage\":[%s],\"steps\":%d,"
                  "\"samples_per_s\":%.0f,\"loadavg\":\"%s\"}\n",
                  bench::json_escape(bench::host_name()).c_str(), cores, k, m,
                  config::to_string(schedule), ideal, mean, lo,
                  hi, json_per.c_str(), steps, r->samples_per_s, load_average().c_str());
      std::fflush(stdout);
    }
  return failures == 0 ? 0 : 1;
}
