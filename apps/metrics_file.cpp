#include "apps/metrics_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <nlohmann/json.hpp>

namespace herd::apps {

namespace fs = std::filesystem;

namespace {

nlohmann::json to_json(const actors::eval_point& e) {
  return {{"clock", e.clock},     {"samples", e.samples},   {"train_s", e.train_s},
          {"test_loss", e.loss},  {"test_accuracy", e.accuracy}, {"eval_s", e.eval_s}};
}

/// Writes all of `text` to `fd`; 0, or the errno of the write that failed.
int write_all(int fd, const std::string& text) {
  for (size_t done = 0; done < text.size();) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno;
    if (n == 0)
      return ENOSPC;
    done += static_cast<size_t>(n);
  }
  return 0;
}

/// `path` holding exactly `text` (created or truncated); 0, or the errno that stopped it.
int write_file(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return errno;
  int err = write_all(fd, text);
  if (::close(fd) != 0 && err == 0)
    err = errno;
  return err;
}

std::string cannot_write(const std::string& file, const std::string& reason) {
  return file + ": cannot write (" + reason + ")";
}

} // namespace

metrics_file::metrics_file(std::string dir, std::string created, report_fn report)
  : dir_(std::move(dir)),
    created_(std::move(created)),
    path_((fs::path(dir_) / "metrics.jsonl").string()),
    pending_(path_ + ".pending"),
    fd_(::open(pending_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)),
    report_(std::move(report)) {
  if (!report_)
    report_ = [](const std::string& line) { std::fprintf(stderr, "herd: %s\n", line.c_str()); };
}

expected<std::unique_ptr<metrics_file>> metrics_file::open(const std::string& dir,
                                                           const std::string& job_json,
                                                           report_fn report) {
  std::error_code ec;
  std::string created; // the outermost of the directories about to be made
  for (auto p = fs::path(dir).lexically_normal(); !p.empty() && !fs::exists(p, ec);
       p = p.parent_path()) {
    created = p.string();
    if (p == p.parent_path())
      break;
  }
  fs::create_directories(dir, ec);
  if (ec)
    return make_error(errc::invalid_argument, dir + ": cannot create the output directory: "
                                                + ec.message());
  std::unique_ptr<metrics_file> m{new metrics_file(dir, created, std::move(report))};
  if (m->fd_ < 0)
    return make_error(errc::io_error, cannot_write(m->path_, std::strerror(errno)));
  if (int err = write_file((fs::path(dir) / "job.json.pending").string(), job_json + "\n"))
    return make_error(errc::io_error,
                      cannot_write((fs::path(dir) / "job.json").string(), std::strerror(err)));
  return m;
}

metrics_file::~metrics_file() {
  if (fd_ >= 0)
    ::close(fd_);
  if (committed_)
    return;
  std::error_code ec;
  fs::remove(pending_, ec);
  fs::remove(fs::path(dir_) / "job.json.pending", ec);
  if (created_.empty())
    return;
  // Only directories left empty go: from `dir` up to the outermost one open() made.
  for (auto p = fs::path(dir_).lexically_normal(); !p.empty(); p = p.parent_path()) {
    if (!fs::remove(p, ec) || p == fs::path(created_) || p == p.parent_path())
      break;
  }
}

void metrics_file::fail(const std::string& file, const std::string& reason) {
  failed_ = true;
  if (std::find(reported_.begin(), reported_.end(), file) != reported_.end())
    return;
  reported_.push_back(file);
  report_(cannot_write(file, reason));
}

caf::error metrics_file::commit() {
  if (committed_)
    return {};
  committed_ = true;
  auto dir = fs::path(dir_);
  std::error_code ec;
  std::string file = (dir / "job.json").string();
  fs::rename(dir / "job.json.pending", file, ec);
  if (!ec) {
    file = path_;
    fs::rename(pending_, path_, ec);
  }
  if (ec) {
    failed_ = true;
    // The lines are not lost: they stay aside, and "metrics in" names where.
    auto err = make_error(errc::io_error, cannot_write(file, ec.message())
                                            + "; the metrics are kept in " + pending_);
    path_ = pending_;
    return err;
  }
  fs::remove(dir / "summary.json", ec);
  if (ec) {
    failed_ = true;
    return make_error(errc::io_error, (dir / "summary.json").string()
                                        + ": cannot remove the earlier run's (" + ec.message()
                                        + ")");
  }
  return {};
}

void metrics_file::write_eval(const actors::eval_point& e) {
  if (fd_ < 0) // failed before, and said so: the file keeps its whole lines
    return;
  auto line = to_json(e).dump() + "\n";
  if (int err = write_all(fd_, line)) {
    // A line cut short goes: metrics.jsonl stays whole lines, readable line by line (best
    // effort: the reported line says the file is incomplete either way).
    int ignored = ::ftruncate(fd_, static_cast<off_t>(written_));
    (void) ignored;
    ::close(fd_);
    fd_ = -1;
    fail(path_, std::strerror(err));
    return;
  }
  written_ += line.size();
}

void metrics_file::write_summary(const actors::job_result& r, double wall_s) {
  nlohmann::json j{{"final", to_json(r.final_eval)},
                   {"train_s", r.wall_s},
                   {"wall_s", wall_s},
                   {"samples", r.samples},
                   {"stopped", r.stopped},
                   {"steps", r.clock},
                   {"samples_per_s", r.samples_per_s},
                   {"steps_total", r.steps},
                   {"steps_skipped", r.steps_skipped},
                   {"steps_per_s", r.steps_per_s},
                   {"staleness", {{"p50", r.staleness_p50}, {"p99", r.staleness_p99},
                                  {"max", r.staleness_max}}},
                   {"wire_bytes", {{"up", r.up_bytes}, {"up_dense", r.up_dense_bytes},
                                   {"down", r.down_bytes}, {"down_dense", r.down_dense_bytes}}},
                   {"codec_time", {{"encode_s", 1e-9 * double(r.encode_ns)},
                                   {"decode_s", 1e-9 * double(r.decode_ns)},
                                   {"encode_us_per_step", r.encode_us_per_step()},
                                   {"decode_us_per_step", r.decode_us_per_step()}}},
                   {"time_to_target_s", r.time_to_target_s ? nlohmann::json(*r.time_to_target_s)
                                                           : nlohmann::json(nullptr)}};
  // Written aside and renamed: a summary cut short never replaces a whole one.
  auto file = (fs::path(dir_) / "summary.json").string();
  auto aside = file + ".pending";
  std::error_code ec;
  if (int err = write_file(aside, j.dump(2) + "\n")) {
    fs::remove(aside, ec);
    fail(file, std::strerror(err));
    return;
  }
  fs::rename(aside, file, ec);
  if (ec) {
    fs::remove(aside, ec);
    fail(file, ec.message());
  }
}

} // namespace herd::apps
