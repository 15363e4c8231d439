// The herd binary on good input: it trains, prints the summary, and writes job.json,
// metrics.jsonl and summary.json that agree with each other and with what it printed.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "job_files.hpp"

using namespace herd::apps::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::vector<std::string> eval_keys = {"clock",         "samples", "train_s", "test_loss",
                                            "test_accuracy", "eval_s"};

void check_eval_point(const json& e) {
  INFO(e.dump());
  REQUIRE(e.is_object());
  CHECK(e.size() == eval_keys.size());
  for (const auto& k : eval_keys) {
    INFO("key " << k);
    REQUIRE(e.contains(k));
    CHECK(e[k].is_number());
    CHECK(e[k].get<double>() >= 0);
  }
  CHECK(e["test_accuracy"].get<double>() <= 1);
}

json read_json(const fs::path& p) {
  INFO(p);
  REQUIRE(fs::exists(p));
  return json::parse(read_text(p.string()));
}

/// Every line of metrics.jsonl, parsed, checked as an evaluation point.
std::vector<json> read_metrics(const fs::path& out) {
  INFO((out / "metrics.jsonl"));
  REQUIRE(fs::exists(out / "metrics.jsonl"));
  std::vector<json> evals;
  for (const auto& line : lines_of(read_text((out / "metrics.jsonl").string()))) {
    evals.push_back(json::parse(line));
    check_eval_point(evals.back());
  }
  return evals;
}

/// summary.json has every key; its final evaluation is the last line of metrics.jsonl.
json check_summary(const fs::path& out, const std::vector<json>& evals) {
  auto s = read_json(out / "summary.json");
  INFO(s.dump(2));
  for (const char* k : {"final", "wall_s", "train_s", "samples", "steps", "samples_per_s",
                        "time_to_target_s"})
    CHECK(s.contains(k));
  check_eval_point(s["final"]);
  REQUIRE_FALSE(evals.empty());
  CHECK(s["final"] == evals.back());
  CHECK(s["train_s"].get<double>() > 0);
  // The whole job (start-up, training, final evaluation) takes longer than its training.
  CHECK(s["wall_s"].get<double>() > s["train_s"].get<double>());
  CHECK(s["samples_per_s"].get<double>() > 0);
  CHECK(s["steps"].get<uint64_t>() == s["final"]["clock"].get<uint64_t>());
  CHECK(s["samples"].get<uint64_t>() == s["final"]["samples"].get<uint64_t>());
  CHECK(s["stopped"] == false); // ran to its end
  return s;
}

void check_ok(const cli_result& r) {
  INFO("exit code " << r.code << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.code == exit_ok);
  CHECK_THAT(r.out, Contains("final test accuracy"));
}

size_t count_lines_starting(const std::string& text, const std::string& prefix) {
  size_t n = 0;
  for (const auto& l : lines_of(text))
    n += l.rfind(prefix, 0) == 0;
  return n;
}

} // namespace

TEST_CASE("herd run: examples/tiny.json trains past 70% test accuracy and writes its outputs",
          "[apps][integration]") {
  temp_dir dir;
  const auto out = dir.path() / "out";
  auto r = run_herd({"run", example("tiny.json"), "--output", out.string(), "--quiet"}, dir);
  check_ok(r);
  CHECK(r.err.empty());
  CHECK(count_lines_starting(r.out, "eval:") == 0); // --quiet

  auto evals = read_metrics(out);
  CHECK(evals.size() == 1); // eval_every 0: only the final evaluation
  auto s = check_summary(out, evals);
  CHECK(s["final"]["test_accuracy"].get<double>() > 0.70);
  CHECK(s["samples"].get<uint64_t>() == 2000); // one epoch of train_limit 2000
  // The summary line and summary.json time the gradient payloads (dense fp32 too).
  CHECK_THAT(r.out, Contains("gradient codec per worker step: encode "));
  CHECK(s["codec_time"]["encode_us_per_step"].get<double>() > 0);
  CHECK(s["codec_time"]["decode_us_per_step"].get<double>() > 0);
  CHECK(s["codec_time"]["encode_s"].get<double>() > 0);
  CHECK(s["codec_time"]["decode_s"].get<double>() > 0);

  // job.json is the canonical job: it validates, and running it again would do the same job.
  auto job_path = (out / "job.json").string();
  auto v = run_herd({"validate", job_path}, dir);
  INFO("validate stderr:\n" << v.err);
  CHECK(v.code == exit_ok);
  CHECK(v.out == "ok\n");
  auto job = read_json(job_path);
  CHECK(job["name"] == "tiny");
  CHECK(job["model"]["layers"] == json({784, 64, 10}));
  CHECK(job["output"]["dir"] == out.string());
}

TEST_CASE("herd run: metrics.jsonl has one line per evaluation, in clock order",
          "[apps][integration]") {
  temp_dir dir;
  auto job = tiny_job(write_dataset(dir, true), dir.file("out"));
  job["training"]["eval_every"] = 2; // 8 steps: several evaluations
  auto r = run_herd({"run", write_job(dir, job)}, dir);
  check_ok(r);

  auto evals = read_metrics(dir.file("out"));
  // The first periodic evaluation and the final one always happen; later periodic ones are
  // skipped while an evaluation is still in flight, so how many depends on timing.
  CHECK(evals.size() >= 2);
  // Without --quiet every evaluation is also printed.
  CHECK(count_lines_starting(r.out, "eval:") == evals.size());
  for (size_t i = 1; i < evals.size(); ++i) {
    INFO("evaluation " << i);
    CHECK(evals[i]["clock"].get<uint64_t>() >= evals[i - 1]["clock"].get<uint64_t>());
    CHECK(evals[i]["samples"].get<uint64_t>() >= evals[i - 1]["samples"].get<uint64_t>());
  }
  auto s = check_summary(dir.file("out"), evals);
  CHECK(s["steps"].get<uint64_t>() == 8);
  CHECK(s["samples"].get<uint64_t>() == 64);
}

TEST_CASE("herd run: a small generated dataset trains with 2 workers and 2 shards",
          "[apps][integration]") {
  for (bool gzip : {false, true}) {
    INFO("gzip " << gzip);
    temp_dir dir;
    auto job = tiny_job(write_dataset(dir, gzip), dir.file("out"));
    job["workers"] = 2;
    job["shards"] = 2;
    auto r = run_herd({"run", write_job(dir, job), "--quiet"}, dir);
    check_ok(r);
    auto s = check_summary(dir.file("out"), read_metrics(dir.file("out")));
    CHECK(s["samples"].get<uint64_t>() == 64); // one epoch, split over the two workers
    auto written = read_json(dir.path() / "out" / "job.json");
    CHECK(written["workers"].size() == 2);
    CHECK(written["shards"].size() == 2);
  }
}

TEST_CASE("herd run: --output overrides output.dir", "[apps][integration]") {
  temp_dir dir;
  auto job = tiny_job(write_dataset(dir, false), dir.file("from-job"));
  auto r = run_herd({"run", write_job(dir, job), "--output", dir.file("from-flag"), "--quiet"},
                    dir);
  check_ok(r);
  CHECK_FALSE(fs::exists(dir.file("from-job")));
  for (const char* f : {"job.json", "metrics.jsonl", "summary.json"}) {
    INFO(f);
    CHECK(fs::exists(dir.path() / "from-flag" / f));
  }
  CHECK_THAT(r.out, Contains(dir.file("from-flag")));
}

TEST_CASE("herd run: a rerun into the same output directory replaces the earlier outputs",
          "[apps][integration]") {
  temp_dir dir;
  auto job = tiny_job(write_dataset(dir, true), dir.file("out"));
  job["training"]["eval_every"] = 2;
  auto path = write_job(dir, job);
  check_ok(run_herd({"run", path, "--quiet"}, dir));
  auto first = read_metrics(dir.file("out")).size();
  job["training"]["eval_every"] = 0;
  write_job(dir, job);
  check_ok(run_herd({"run", path, "--quiet"}, dir));
  auto evals = read_metrics(dir.file("out"));
  CHECK(first > 1);
  CHECK(evals.size() == 1); // metrics.jsonl is truncated, not appended to
  CHECK(read_json(dir.path() / "out" / "job.json")["training"]["eval_every"] == 0);
}
