// A job whose training diverges (a learning rate that overflows the weights) is a failure:
// herd run warns on stderr, even with --quiet, and exits 1 with its outputs written; herd
// experiment reports such runs as diverged and goes on with the others.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "job_files.hpp"

using namespace herd::apps::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int exit_failed = 1;

/// The tiny job with a learning rate that turns the weights to inf after one step.
json diverging_job(const temp_dir& dir, const std::string& out) {
  auto job = tiny_job(write_dataset(dir, false), out);
  job["optimizer"] = {{"type", "sgd"}, {"lr", 1e30}, {"momentum", 0}};
  return job;
}

} // namespace

TEST_CASE("herd run: a diverged run warns on stderr even with --quiet and exits 1",
          "[apps][integration]") {
  temp_dir dir;
  auto out = dir.file("out");
  auto path = write_job(dir, diverging_job(dir, out));
  auto r = run_herd({"run", path, "--quiet"}, dir);
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.code == exit_failed);
  REQUIRE(r.err_lines().size() == 1);
  CHECK_THAT(r.err, Contains("herd: warning: training diverged (final test loss "));
  CHECK_THAT(r.err, Contains("steps skipped for inf/NaN gradients"));
  // The outputs are still written: they show what happened.
  CHECK_THAT(r.out, Contains("final test accuracy"));
  CHECK(r.out.find("-nan") == std::string::npos); // a NaN loss shows as the warning's "nan"
  auto summary = json::parse(read_text(out + "/summary.json"));
  CHECK(summary["steps_skipped"].get<uint64_t>() > 0);
}

TEST_CASE("herd run: the same job with a sane learning rate exits 0 without a warning",
          "[apps][integration]") {
  temp_dir dir;
  auto job = diverging_job(dir, dir.file("out"));
  job["optimizer"]["lr"] = 0.05;
  auto r = run_herd({"run", write_job(dir, job), "--quiet"}, dir);
  INFO(r.err);
  CHECK(r.code == exit_ok);
  CHECK(r.err.empty());
}

TEST_CASE("herd experiment: diverged runs are reported as such and every run still runs",
          "[apps][integration]") {
  temp_dir dir;
  write_job(dir, diverging_job(dir, dir.file("job-out")), "job.json");
  json exp = {{"name", "diverging"},
              {"job", "job.json"},
              {"consistency", {{{"model", "bsp"}}, {{"model", "asp"}}}},
              {"stragglers", {{{"name", "none"}}}},
              {"seeds", {1}}};
  auto path = dir.file("experiment.json");
  write_text(path, exp.dump(2));
  auto out = dir.file("out");
  auto r = run_herd({"experiment", path, "--output", out, "--quiet"}, dir);
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.code == exit_failed);
  CHECK_THAT(r.err, Contains("run 1/2 (bsp none seed 1) diverged: final test loss"));
  CHECK_THAT(r.err, Contains("run 2/2 (asp none seed 1) diverged: final test loss"));
  CHECK_THAT(r.out, Contains("0 of 2 runs finished"));
  // No row compares a diverged run; summary.md names it, and its own folder shows it.
  CHECK(lines_of(read_text(out + "/results.csv")).size() == 1);
  auto summary = read_text(out + "/summary.md");
  CHECK_THAT(summary, Contains("## Failed runs"));
  CHECK_THAT(summary, Contains("- bsp none seed 1: diverged: final test loss"));
  CHECK(fs::exists(out + "/runs/bsp-none-seed1/summary.json"));
}
