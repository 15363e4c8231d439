// `herd experiment`: the tiny example runs its matrix and writes results.csv, curves.csv,
// summary.md, accuracy.png and one folder per run whose job.json shows the settings applied;
// --dry-run checks the full example without training;
// bad experiment files exit 2 with one line naming the JSON path or file, writing nothing.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "job_files.hpp"

using namespace herd::apps::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::vector<std::string> result_columns = {
  "consistency",   "staleness",     "straggler",     "seed",
  "final_accuracy", "time_to_target_s", "steps_per_s", "samples_per_s",
  "staleness_p50", "staleness_p99", "staleness_max", "train_s",
  "wall_s"};

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream in{line};
  for (std::string field; std::getline(in, field, ',');)
    out.push_back(field);
  if (!line.empty() && line.back() == ',')
    out.emplace_back();
  return out;
}

bool gnuplot_installed() {
  return std::system("command -v gnuplot >/dev/null 2>&1") == 0;
}

json read_json(const fs::path& p) {
  INFO(p);
  REQUIRE(fs::exists(p));
  return json::parse(read_text(p.string()));
}

/// Exit code 2, nothing on stdout, one stderr line "herd: ..." containing every `names`.
void check_bad_input(const cli_result& r, const std::vector<std::string>& names) {
  INFO("exit code " << r.code << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.code == exit_bad_input);
  CHECK(r.out.empty());
  auto lines = r.err_lines();
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0], StartsWith("herd: "));
  for (const auto& n : names)
    CHECK_THAT(lines[0], Contains(n));
}

/// A valid experiment on a generated dataset (job in its own file), with `edit` applied.
template <class Edit>
cli_result run_edited_experiment(const temp_dir& dir, Edit edit) {
  auto files = write_dataset(dir, false);
  auto job = tiny_job(files, dir.file("job-out"));
  job["workers"] = 2;
  write_job(dir, job, "job.json");
  json exp = {{"name", "bad"},
              {"job", "job.json"},
              {"consistency", {{{"model", "bsp"}}, {{"model", "asp"}}}},
              {"stragglers",
               {{{"name", "none"}},
                {{"name", "one-slow"}, {"workers", {{"0", {{"factor", 3}}}}}}}},
              {"seeds", {1}}};
  edit(exp);
  auto path = dir.file("experiment.json");
  write_text(path, exp.dump(2));
  auto out = dir.file("out");
  auto r = run_herd({"experiment", path, "--output", out}, dir);
  CHECK_FALSE(fs::exists(out));
  return r;
}

} // namespace

TEST_CASE("herd experiment: the tiny example runs 4 jobs and writes the comparison",
          "[apps][integration]") {
  temp_dir dir;
  auto out = dir.path() / "out";
  auto r = run_herd(
    {"experiment", example("experiments/consistency_tiny.json"), "--output", out.string()}, dir);
  INFO("exit code " << r.code << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.code == exit_ok);
  size_t run_lines = 0;
  for (const auto& l : lines_of(r.out))
    run_lines += l.rfind("run ", 0) == 0 && l.find("/4: ") != std::string::npos ? 1 : 0;
  CHECK(run_lines == 4);

  // results.csv: the header, then one row per (consistency x straggler x seed).
  auto results = lines_of(read_text((out / "results.csv").string()));
  REQUIRE(results.size() == 5);
  CHECK(split_csv(results[0]) == result_columns);
  std::set<std::string> settings;
  for (size_t i = 1; i < results.size(); ++i) {
    INFO(results[i]);
    auto f = split_csv(results[i]);
    REQUIRE(f.size() == result_columns.size());
    settings.insert(f[0] + " " + f[2]);
    CHECK(f[3] == "1");
    auto acc = std::stod(f[4]);
    CHECK(acc > 0.3); // 10 classes: well above chance after one epoch
    CHECK(acc <= 1);
    CHECK(std::stod(f[6]) > 0);  // steps/s
    CHECK(std::stod(f[11]) > 0); // train_s
    CHECK(std::stod(f[12]) >= std::stod(f[11]));
    if (f[0] == "bsp")
      CHECK(f[10] == "0"); // BSP applies no stale update
  }
  CHECK(settings == std::set<std::string>{"bsp none", "bsp one-slow", "asp none", "asp one-slow"});

  // curves.csv: every setting has evaluations, in training-time order.
  auto curves = lines_of(read_text((out / "curves.csv").string()));
  REQUIRE(curves.size() > 4);
  CHECK_THAT(curves[0], StartsWith("setting,seed,train_s,accuracy"));
  std::set<std::string> curve_settings;
  for (size_t i = 1; i < curves.size(); ++i)
    curve_settings.insert(split_csv(curves[i]).at(0));
  CHECK(curve_settings == settings);

  // summary.md: one table row per setting, the ratios to BSP, the reproducing command.
  auto summary = read_text((out / "summary.md").string());
  for (const char* row : {"| bsp | none |", "| bsp | one-slow |", "| asp | none |",
                          "| asp | one-slow |"})
    CHECK_THAT(summary, Contains(row));
  CHECK_THAT(summary, Contains("asp/bsp = "));
  CHECK_THAT(summary, Contains("herd experiment "));

  // Each run's job.json shows what the matrix applied.
  auto slow = read_json(out / "runs" / "bsp-one-slow-seed1" / "job.json");
  CHECK(slow["consistency"]["model"] == "bsp");
  CHECK(slow["training"]["evaluation"] == "deferred");
  CHECK(slow["training"]["seed"] == 1);
  CHECK(slow["model"]["init_seed"] == 1);
  CHECK(slow["workers"][0]["straggler"]["factor"] == 2.0);
  CHECK(slow["workers"][1]["straggler"]["factor"] == 1.0);
  auto asp = read_json(out / "runs" / "asp-none-seed1" / "job.json");
  CHECK(asp["consistency"]["model"] == "asp");
  CHECK(asp["workers"][0]["straggler"]["factor"] == 1.0);
  CHECK(fs::exists(out / "runs" / "asp-none-seed1" / "metrics.jsonl"));

  // experiment.json: the same experiment with the job inlined.
  auto copy = read_json(out / "experiment.json");
  CHECK(copy["job"].is_object());
  CHECK(copy["consistency"].size() == 2);

  CHECK(fs::exists(out / "accuracy.gp"));
  if (gnuplot_installed()) {
    REQUIRE(fs::exists(out / "accuracy.png"));
    auto png = read_text((out / "accuracy.png").string());
    CHECK(png.substr(0, 8) == "\x89PNG\r\n\x1a\n");
  } else {
    WARN("gnuplot is not installed: accuracy.png not checked");
    CHECK_THAT(r.err, Contains("gnuplot"));
  }
}

TEST_CASE("herd experiment: an unknown key exits 2 naming its JSON path", "[apps][integration]") {
  temp_dir dir;
  auto r = run_edited_experiment(dir, [](json& e) { e["colour"] = "red"; });
  check_bad_input(r, {"experiment.json", "/colour", "unknown key"});
}

TEST_CASE("herd experiment: an empty consistency list exits 2 naming /consistency",
          "[apps][integration]") {
  temp_dir dir;
  auto r = run_edited_experiment(dir, [](json& e) { e["consistency"] = json::array(); });
  check_bad_input(r, {"experiment.json", "/consistency", "non-empty"});
}

TEST_CASE("herd experiment: a straggler factor below 1 exits 2 naming its JSON path",
          "[apps][integration]") {
  temp_dir dir;
  auto r = run_edited_experiment(
    dir, [](json& e) { e["stragglers"][1]["workers"]["0"]["factor"] = 0.5; });
  check_bad_input(r, {"/stragglers/1/workers/0/factor", ">= 1", "0.5"});
}

TEST_CASE("herd experiment: a straggler on a worker the job lacks exits 2", "[apps][integration]") {
  temp_dir dir;
  auto r = run_edited_experiment(dir, [](json& e) {
    e["stragglers"][1]["workers"] = {{"2", {{"factor", 3}}}};
  });
  check_bad_input(r, {"/stragglers/1/workers/2", "below 2"});
}

TEST_CASE("herd experiment: a missing job file exits 2 naming the file", "[apps][integration]") {
  temp_dir dir;
  auto r = run_edited_experiment(dir, [](json& e) { e["job"] = "missing.json"; });
  check_bad_input(r, {"/job", "missing.json"});
}

TEST_CASE("herd experiment: a bad key in an inline job exits 2 naming its path under /job",
          "[apps][integration]") {
  temp_dir dir;
  auto r = run_edited_experiment(dir, [](json& e) {
    e["job"] = {{"model", {{"layers", {784, 10}}}}, {"training", {{"epochs", "ten"}}}};
  });
  check_bad_input(r, {"/job/training/epochs"});
}

TEST_CASE("herd experiment: a missing experiment file exits 2 naming it", "[apps][integration]") {
  temp_dir dir;
  auto missing = dir.file("missing.json");
  check_bad_input(run_herd({"experiment", missing}, dir), {missing});
}

TEST_CASE("herd experiment: --dry-run checks the full example and lists its 27 runs",
          "[apps][integration]") {
  temp_dir dir;
  auto out = dir.file("out");
  auto r = run_herd(
    {"experiment", example("experiments/consistency.json"), "--output", out, "--dry-run"}, dir);
  INFO("exit code " << r.code << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.code == exit_ok);
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 28);
  CHECK_THAT(lines[0], StartsWith("run 1/27: bsp none seed 1"));
  CHECK_THAT(lines[13], StartsWith("run 14/27: ssp(3) one-slow seed 2"));
  CHECK_THAT(lines[26], StartsWith("run 27/27: asp transient seed 3"));
  CHECK_THAT(lines[27], StartsWith("ok: 27 runs"));
  CHECK_FALSE(fs::exists(out));
}
