// The run's output directory: job.json (the job with every default filled in), metrics.jsonl
// (one JSON line per evaluation) and summary.json (written at the end).
#pragma once

#include <fstream>
#include <memory>
#include <string>

#include "actors/job.hpp"
#include "messages/errc.hpp"

namespace herd::apps {

class metrics_file {
public:
  /// Creates `dir` if needed and writes job.json; metrics.jsonl is started afresh.
  static expected<std::unique_ptr<metrics_file>> open(const std::string& dir,
                                                      const std::string& job_json);

  void write_eval(const actors::eval_point& e);
  void write_summary(const actors::job_result& r);
  const std::string& path() const { return path_; }

private:
  metrics_file(std::string dir, std::string path);

  std::string dir_;
  std::string path_;
  std::ofstream out_;
};

} // namespace herd::apps
