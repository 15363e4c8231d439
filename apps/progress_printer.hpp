// What `herd run` shows while a job trains: on a terminal one live line rewritten in place,
// otherwise plain log lines every `log_every` clocks; evaluations always get their own line.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include "actors/job.hpp"

namespace herd::apps {

/// A loss as printed: NaN without its sign (printf shows a negative NaN as "-nan", while the
/// divergence warning says "nan").
inline double shown_loss(double loss) {
  return std::isnan(loss) ? std::fabs(loss) : loss;
}

class progress_printer {
public:
  progress_printer(std::FILE* out, bool live, int64_t log_every);

  void progress(const actors::progress_info& p);
  void eval(const actors::eval_point& e);
  void log(const std::string& line);
  /// Ends a live line so the next output starts on a fresh line.
  void finish_line();

private:
  std::FILE* out_;
  bool live_;
  uint64_t log_every_;
  uint64_t next_log_;
  bool line_open_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

} // namespace herd::apps
