// Whether a finished job diverged: its final test loss is not finite, or most of its steps were
// skipped for inf/NaN gradients. `herd run` and `herd experiment` report such a run as failed.
#pragma once

#include <cmath>
#include <string>

#include "actors/job.hpp"

namespace herd::apps {

/// Why `r` diverged, as "final test loss nan, 549 of 600 steps skipped for inf/NaN gradients";
/// empty when it did not.
inline std::string divergence_of(const actors::job_result& r) {
  bool loss_bad = !std::isfinite(r.final_eval.loss);
  bool skips_bad = r.steps > 0 && r.steps_skipped * 2 > r.steps;
  if (!loss_bad && !skips_bad)
    return {};
  std::string loss = std::isnan(r.final_eval.loss) ? "nan"
                     : std::isinf(r.final_eval.loss) ? "inf"
                                                      : std::to_string(r.final_eval.loss);
  return "final test loss " + loss + ", " + std::to_string(r.steps_skipped) + " of "
         + std::to_string(r.steps) + " steps skipped for inf/NaN gradients";
}

} // namespace herd::apps
