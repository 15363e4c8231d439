// The run's output directory: job.json (the job with every default filled in), metrics.jsonl
// (one JSON line per evaluation) and summary.json (written at the end). Until the job has
// started (every node reached, a resumed checkpoint accepted, every worker placed) the new
// job.json and metrics.jsonl are written aside as job.json.pending and metrics.jsonl.pending:
// a run that fails before then leaves what the directory held untouched. summary.json is
// written aside too and renamed: a write that fails leaves no partial summary.
//
// A write that fails (a full disk) is reported once per file, "<file>: cannot write (<reason>)",
// through the report function; metrics.jsonl then keeps its whole lines and takes no more. Where
// metrics.jsonl cannot take the place of the lines written aside (a directory in the way), they
// stay in metrics.jsonl.pending, and path() names it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/job.hpp"
#include "messages/errc.hpp"

namespace herd::apps {

class metrics_file {
public:
  using report_fn = std::function<void(const std::string&)>;

  /// Creates `dir` if needed and writes job.json.pending; metrics.jsonl.pending is started
  /// afresh. Nothing else in `dir` changes until commit(). A directory that cannot be made is
  /// errc::invalid_argument (the path is the problem); a file that cannot be written, io_error.
  /// `report` gets each later write failure's line (default: "herd: LINE" on stderr).
  static expected<std::unique_ptr<metrics_file>> open(const std::string& dir,
                                                      const std::string& job_json,
                                                      report_fn report = {});
  /// Not committed: removes the pending files, and `dir` again when open() created it.
  ~metrics_file();
  metrics_file(const metrics_file&) = delete;
  metrics_file& operator=(const metrics_file&) = delete;

  /// The job started: the pending files become job.json and metrics.jsonl (the stream goes on
  /// into the same file) and an earlier run's summary.json is removed. Later calls do nothing.
  /// A failure is returned (not reported) and counts in failed().
  caf::error commit();

  void write_eval(const actors::eval_point& e);
  /// summary.json: `wall_s` is the whole run (start-up, training, final evaluation), the
  /// result's own wall_s is written as train_s (the training clock).
  void write_summary(const actors::job_result& r, double wall_s);
  /// Whether a write, commit() included, failed: the outputs are not whole.
  bool failed() const { return failed_; }
  /// metrics.jsonl (its name once committed).
  const std::string& path() const { return path_; }

private:
  metrics_file(std::string dir, std::string created, report_fn report);
  /// Reports "<file>: cannot write (<reason>)" the first time `file` fails.
  void fail(const std::string& file, const std::string& reason);

  std::string dir_;
  std::string created_; // the outermost directory open() created; "" when `dir` existed
  std::string path_;
  std::string pending_;
  int fd_ = -1;          // metrics.jsonl's stream; -1 once a write failed
  uint64_t written_ = 0; // bytes of whole lines in it
  report_fn report_;
  std::vector<std::string> reported_;
  bool committed_ = false;
  bool failed_ = false;
};

} // namespace herd::apps
