// The run's output directory: job.json (the job with every default filled in), metrics.jsonl
// (one JSON line per evaluation) and summary.json (written at the end). Until the job has
// started (every node reached, a resumed checkpoint accepted, every worker placed) the new
// job.json and metrics.jsonl are written aside as job.json.pending and metrics.jsonl.pending:
// a run that fails before then leaves what the directory held untouched.
#pragma once

#include <fstream>
#include <memory>
#include <string>

#include "actors/job.hpp"
#include "messages/errc.hpp"

namespace herd::apps {

class metrics_file {
public:
  /// Creates `dir` if needed and writes job.json.pending; metrics.jsonl.pending is started
  /// afresh. Nothing else in `dir` changes until commit().
  static expected<std::unique_ptr<metrics_file>> open(const std::string& dir,
                                                      const std::string& job_json);
  /// Not committed: removes the pending files, and `dir` again when open() created it.
  ~metrics_file();
  metrics_file(const metrics_file&) = delete;
  metrics_file& operator=(const metrics_file&) = delete;

  /// The job started: the pending files become job.json and metrics.jsonl (the stream goes on
  /// into the same file) and an earlier run's summary.json is removed. Later calls do nothing.
  caf::error commit();

  void write_eval(const actors::eval_point& e);
  void write_summary(const actors::job_result& r);
  /// metrics.jsonl (its name once committed).
  const std::string& path() const { return path_; }

private:
  metrics_file(std::string dir, std::string created);

  std::string dir_;
  std::string created_; // the outermost directory open() created; "" when `dir` existed
  std::string path_;
  std::string pending_;
  std::ofstream out_;
  bool committed_ = false;
};

} // namespace herd::apps
