// The matrix of an experiment, run in this process: every (consistency x compression x
// straggler x seed) combination as its own job, one after another, each in a fresh actor system.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "actors/job.hpp"
#include "apps/experiment_config.hpp"

namespace herd::apps {

/// One run of the matrix.
struct run_spec {
  size_t consistency = 0; // index into experiment_config::consistency
  size_t compression = 0; // index into experiment_config::compression
  size_t straggler = 0;   // index into experiment_config::stragglers
  uint64_t seed = 0;
  /// "ssp(3) one-slow": the consistency label and the scenario name, with the compression
  /// setting's name between them when shows_compression ("bsp topk0.1%+ef none").
  std::string setting;
  std::string slug;       // "ssp3-one-slow-seed1": the run's folder under <output>/runs (run_slug)
  config::job_config job; // validated, evaluation deferred
};

struct run_record {
  run_spec spec;
  std::optional<actors::job_result> result; // empty when the run failed
  std::string error; // why it failed, or "diverged: ..." (result kept for the run's own files)
  double wall_s = 0; // the whole run: start-up, training and the deferred evaluations

  /// Ran to the end without diverging: the runs the reports compare.
  bool finished() const { return result && error.empty(); }
};

/// The index of a (consistency, compression, straggler) setting in that order: settings of one
/// experiment numbered 0 .. consistency x compression x stragglers - 1.
size_t setting_index(const experiment_config& exp, const run_spec& r);

/// Every run in order consistency, then compression, then scenario, then seed; every job checked
/// before any runs, so a bad combination is reported before hours of training.
expected<std::vector<run_spec>> plan_runs(const experiment_config& exp);

struct run_hooks {
  std::function<void(const run_spec&, size_t index, size_t total)> on_start;
  std::function<void(const actors::progress_info&)> on_progress;
  std::function<void(const run_record&, size_t index, size_t total)> on_done;
  /// Asked before each run; false ends the experiment there (SIGINT): the runs left out are
  /// not in the records.
  std::function<bool()> keep_going;
};

/// Runs every spec on the datasets of `data` (loaded once: runs differ in nothing that changes
/// the data). A failed or diverged run (apps/divergence.hpp) is recorded and the others still run.
std::vector<run_record> run_experiment(const std::vector<run_spec>& runs,
                                       const actors::job_inputs& data, const run_hooks& hooks);

} // namespace herd::apps
