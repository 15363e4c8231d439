// What `herd experiment` writes once the runs are done: results.csv (one row per run),
// curves.csv (every evaluation of every run) and summary.md (settings aggregated over seeds,
// bytes and accuracy against the dense setting, ratios to BSP, the command that reproduces it).
// The plot is in experiment_plot.hpp, the aggregation over seeds in experiment_stats.hpp.
#pragma once

#include <string>
#include <vector>

#include "apps/experiment_config.hpp"
#include "apps/experiment_runner.hpp"
#include "messages/errc.hpp"

namespace herd::apps {

/// results.csv: consistency, staleness, straggler, seed, final_accuracy, time_to_target_s
/// (empty when not reached), steps_per_s, samples_per_s, staleness_p50, staleness_p99,
/// staleness_max, train_s, wall_s, compression (the setting's name), up_bytes_per_step,
/// down_bytes_per_step (per worker step), up_ratio, down_ratio (fp32 bytes / bytes sent; empty
/// when none were sent), encode_us_per_step, decode_us_per_step (time spent encoding a worker
/// step's gradient on the worker, decoding and validating it on the shards). Failed runs have
/// no row (summary.md lists them).
caf::error write_results_csv(const std::string& path, const experiment_config& exp,
                             const std::vector<run_record>& runs);

/// curves.csv: setting, seed, train_s, accuracy, clock, loss; one row per evaluation.
caf::error write_curves_csv(const std::string& path, const std::vector<run_record>& runs);

/// summary.md. `command` is the command line that reproduces the experiment.
caf::error write_summary_md(const std::string& path, const experiment_config& exp,
                            const std::vector<run_record>& runs, const std::string& command);

} // namespace herd::apps
