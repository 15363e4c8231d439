#include "apps/metrics_file.hpp"

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

} // namespace

metrics_file::metrics_file(std::string dir, std::string created)
  : dir_(std::move(dir)),
    created_(std::move(created)),
    path_((fs::path(dir_) / "metrics.jsonl").string()),
    pending_(path_ + ".pending"),
    out_(pending_, std::ios::trunc) {
}

expected<std::unique_ptr<metrics_file>> metrics_file::open(const std::string& dir,
                                                           const std::string& job_json) {
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
    return make_error(errc::io_error, dir + ": cannot create the output directory: "
                                        + ec.message());
  std::unique_ptr<metrics_file> m{new metrics_file(dir, created)};
  if (!m->out_)
    return make_error(errc::io_error, m->pending_ + ": cannot write");
  std::ofstream job(fs::path(dir) / "job.json.pending", std::ios::trunc);
  job << job_json << "\n";
  if (!job)
    return make_error(errc::io_error, dir + "/job.json.pending: cannot write");
  return m;
}

metrics_file::~metrics_file() {
  if (committed_)
    return;
  out_.close();
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

caf::error metrics_file::commit() {
  if (committed_)
    return {};
  committed_ = true;
  std::error_code ec;
  fs::rename(fs::path(dir_) / "job.json.pending", fs::path(dir_) / "job.json", ec);
  if (!ec)
    fs::rename(pending_, path_, ec);
  if (!ec)
    fs::remove(fs::path(dir_) / "summary.json", ec);
  if (ec)
    return make_error(errc::io_error, dir_ + ": cannot replace the earlier outputs: "
                                        + ec.message());
  return {};
}

void metrics_file::write_eval(const actors::eval_point& e) {
  out_ << to_json(e).dump() << "\n";
  out_.flush();
}

void metrics_file::write_summary(const actors::job_result& r) {
  nlohmann::json j{{"final", to_json(r.final_eval)},
                   {"wall_s", r.wall_s},
                   {"samples", r.samples},
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
  std::ofstream out(fs::path(dir_) / "summary.json", std::ios::trunc);
  out << j.dump(2) << "\n";
}

} // namespace herd::apps
