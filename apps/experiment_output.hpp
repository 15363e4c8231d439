// The output directory of `herd experiment`: what an earlier experiment provably wrote there (its
// record is DIR/experiment.json, written before its first run: the run folders of its matrix and
// the reports), and making the directory this experiment's without touching anything else.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "apps/experiment_config.hpp"

namespace herd::apps {

/// The most runs one experiment may have: checked on the counts, before any run is planned.
constexpr size_t max_experiment_runs = 10'000;

/// consistency x compression x stragglers x seeds, saturating at SIZE_MAX.
size_t run_count(const experiment_config& exp);

/// What `out_dir` holds from before, as far as this experiment cares.
struct earlier_outputs {
  bool record = false; // DIR/experiment.json is an experiment herd reads: an earlier one's
  /// The earlier experiment's run folders that exist (runs/<slug> of its matrix): all removed.
  std::vector<std::string> run_folders;
  /// Files this experiment would overwrite that no earlier experiment provably wrote, relative
  /// to `out_dir` ("summary.md", "runs/bsp-none-seed1"): when any, nothing is run or written.
  std::vector<std::string> conflicts;
};

/// Reads `out_dir` (nothing is changed). `run_slugs` are this experiment's run folders under
/// runs/.
earlier_outputs inspect_output_dir(const std::string& out_dir,
                                   const std::vector<std::string>& run_slugs);

/// The one line (without "herd: ") refusing `out_dir` because of `e.conflicts`.
std::string conflict_line(const std::string& out_dir, const earlier_outputs& e);

/// Removes the earlier experiment's reports and every one of its run folders, saying how many
/// folders went on stderr. Call only when `e.conflicts` is empty.
void clear_earlier_outputs(const std::string& out_dir, const earlier_outputs& e);

} // namespace herd::apps
