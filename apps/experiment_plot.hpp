// accuracy.png: test accuracy against training wall-clock time, one curve per setting, drawn by
// gnuplot from a script written next to it (accuracy.gp, data inline, rerunnable by hand).
// A missing or failing gnuplot is a warning, never a failed experiment.
#pragma once

#include <string>
#include <vector>

#include "apps/experiment_config.hpp"
#include "apps/experiment_runner.hpp"

namespace herd::apps {

struct plot_outcome {
  bool written = false; // accuracy.png exists
  std::string warning;  // why not, when it does not
};

/// Writes `dir`/accuracy.gp and runs gnuplot on it in `dir`. Each setting is drawn from its
/// run with the first listed seed that succeeded (the legend names the seed).
plot_outcome write_accuracy_plot(const std::string& dir, const experiment_config& exp,
                                 const std::vector<run_record>& runs);

} // namespace herd::apps
