// `herd experiment`: the tiny examples run their matrices and write results.csv, curves.csv,
// summary.md, accuracy.png and one folder per run whose job.json shows the settings applied
// (consistency, stragglers, compression, with bytes per step and the comparison to dense);
// --dry-run checks the full examples without training;
// bad experiment files exit 2 with one line naming the JSON path or file, writing nothing.
#include <catch2/catch.hpp>

#include <algorithm>
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
  "wall_s",        "compression",   "up_bytes_per_step", "down_bytes_per_step",
  "up_ratio",      "down_ratio",    "encode_us_per_step", "decode_us_per_step"};

/// The cells of one Markdown table row "| a | b |": {"a", "b"}.
std::vector<std::string> table_cells(const std::string& row) {
  std::vector<std::string> out;
  std::stringstream in{row};
  std::string cell;
  std::getline(in, cell, '|'); // before the first bar
  while (std::getline(in, cell, '|')) {
    auto b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
    out.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
  }
  return out;
}

/// The summary.md table row that starts with `prefix` ("| bsp | none |"); "" when none does.
std::string table_row(const std::string& summary, const std::string& prefix) {
  for (const auto& l : lines_of(summary))
    if (l.rfind(prefix, 0) == 0)
      return l;
  return "";
}

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
    // The run's summary.json has the same times: wall_s the whole run, train_s the training.
    auto s = read_json(out / "runs" / (f[0] + "-" + f[2] + "-seed1") / "summary.json");
    CHECK_THAT(s["wall_s"].get<double>(), Catch::Matchers::WithinAbs(std::stod(f[12]), 6e-4));
    CHECK_THAT(s["train_s"].get<double>(), Catch::Matchers::WithinAbs(std::stod(f[11]), 6e-4));
    if (f[0] == "bsp")
      CHECK(f[10] == "0"); // BSP applies no stale update
    CHECK(f[13] == "none"); // the base job's own compression: dense fp32 both ways
    CHECK(std::stod(f[14]) > 0);
    CHECK(std::stod(f[15]) > 0);
    CHECK_THAT(std::stod(f[16]), Catch::Matchers::WithinAbs(1.0, 0.01));
    CHECK_THAT(std::stod(f[17]), Catch::Matchers::WithinAbs(1.0, 0.01));
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
  // Without a compression dimension the summary reads as it did before there was one.
  CHECK_THAT(summary, !Contains("| compression |"));
  CHECK_THAT(summary, !Contains("uplink"));
  CHECK_THAT(summary, Contains("- none: asp/bsp = "));

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

TEST_CASE("herd experiment: the tiny compression example compares top-k with dense",
          "[apps][integration]") {
  temp_dir dir;
  auto out = dir.path() / "out";
  auto r = run_herd(
    {"experiment", example("experiments/compression_tiny.json"), "--output", out.string()}, dir);
  INFO("exit code " << r.code << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.code == exit_ok);
  CHECK_THAT(r.out, Contains("1 consistency x 2 compression x 1 straggler x 1 seed"));

  // results.csv: one row per setting with its bytes per step and ratios.
  auto results = lines_of(read_text((out / "results.csv").string()));
  REQUIRE(results.size() == 3);
  CHECK(split_csv(results[0]) == result_columns);
  auto dense = split_csv(results[1]), topk = split_csv(results[2]);
  REQUIRE(dense.size() == result_columns.size());
  REQUIRE(topk.size() == result_columns.size());
  CHECK(dense[13] == "none");
  CHECK(topk[13] == "topk5%+ef");
  CHECK(std::stod(dense[4]) > 0.3);
  CHECK(std::stod(topk[4]) > 0.1);
  // Dense fp32 sends each value as 4 bytes plus a small header.
  CHECK_THAT(std::stod(dense[16]), Catch::Matchers::WithinAbs(1.0, 0.01));
  // Top-k 5%: an index and a value per element sent, about 10 times fewer bytes.
  CHECK(std::stod(topk[16]) > 5);
  CHECK(std::stod(topk[14]) * 5 < std::stod(dense[14]));
  // Pulls are fp32 parameters in both settings.
  CHECK(topk[15] == dense[15]);
  CHECK_THAT(std::stod(topk[17]), Catch::Matchers::WithinAbs(1.0, 0.01));
  // Encode and decode time per worker step, measured for both settings.
  for (const auto* row : {&dense, &topk}) {
    CHECK(std::stod((*row)[18]) > 0);
    CHECK(std::stod((*row)[19]) > 0);
  }

  // summary.md: a compression column, bytes and ratios, and top-k's accuracy against dense.
  auto summary = read_text((out / "summary.md").string());
  INFO(summary);
  auto head = table_cells(table_row(summary, "| consistency |"));
  auto vs_dense = std::find(head.begin(), head.end(), "accuracy vs dense (points)");
  REQUIRE(vs_dense != head.end());
  auto col = size_t(vs_dense - head.begin());
  CHECK(head[1] == "compression");
  CHECK(std::find(head.begin(), head.end(), "uplink KiB/step") != head.end());
  auto enc = std::find(head.begin(), head.end(), "encode µs/step");
  REQUIRE(enc != head.end());
  REQUIRE(enc + 1 != head.end());
  CHECK(*(enc + 1) == "decode µs/step");
  auto dense_row = table_cells(table_row(summary, "| bsp | none | none |"));
  auto topk_row = table_cells(table_row(summary, "| bsp | topk5%+ef | none |"));
  REQUIRE(dense_row.size() == head.size());
  REQUIRE(topk_row.size() == head.size());
  CHECK(dense_row[col] == "reference");
  auto enc_col = size_t(enc - head.begin());
  CHECK(std::stod(topk_row[enc_col]) > 0);
  CHECK(std::stod(topk_row[enc_col + 1]) > 0);
  // One seed: the difference itself, with no spread.
  auto diff = 100.0 * (std::stod(topk[4]) - std::stod(dense[4]));
  CHECK_THAT(topk_row[col], StartsWith(diff >= 0 ? "+" : "-"));
  CHECK_THAT(std::stod(topk_row[col]), Catch::Matchers::WithinAbs(diff, 0.02));
  CHECK_THAT(topk_row[col], Contains("± 0.00"));

  // Run folders and curves name the compression setting; each job has it in full.
  auto job = read_json(out / "runs" / "bsp-topk5pct-ef-none-seed1" / "job.json");
  CHECK(job["compression"]["codec"] == "topk");
  CHECK(job["compression"]["density"] == 0.05);
  CHECK(job["compression"]["error_feedback"] == true);
  CHECK(read_json(out / "runs" / "bsp-none-none-seed1" / "job.json")["compression"]["codec"]
        == "none");
  std::set<std::string> curve_settings;
  auto curves = lines_of(read_text((out / "curves.csv").string()));
  for (size_t i = 1; i < curves.size(); ++i)
    curve_settings.insert(split_csv(curves[i]).at(0));
  CHECK(curve_settings == std::set<std::string>{"bsp none none", "bsp topk5%+ef none"});
  auto copy = read_json(out / "experiment.json");
  REQUIRE(copy["compression"].size() == 2);
  CHECK(copy["compression"][1]["name"] == "topk5%+ef");
  CHECK(copy["compression"][1]["warmup_steps"] == 0); // defaults written out
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
  check_bad_input(r, {"/stragglers/1/workers/0/factor", "in [1, 100]", "0.5"});
}

TEST_CASE("herd experiment: a straggler on a worker the job lacks exits 2", "[apps][integration]") {
  temp_dir dir;
  auto r = run_edited_experiment(dir, [](json& e) {
    e["stragglers"][1]["workers"] = {{"2", {{"factor", 3}}}};
  });
  check_bad_input(r, {"/stragglers/1/workers/2", "below 2"});
}

TEST_CASE("herd experiment: an unknown key in a compression setting exits 2 naming its path",
          "[apps][integration]") {
  temp_dir dir;
  auto r = run_edited_experiment(dir, [](json& e) {
    e["compression"] = {{{"codec", "none"}}, {{"codec", "topk"}, {"denisty", 0.1}}};
  });
  check_bad_input(r, {"experiment.json", "/compression/1/denisty", "unknown key"});
}

TEST_CASE("herd experiment: an unknown codec in a compression setting exits 2 naming its path",
          "[apps][integration]") {
  temp_dir dir;
  auto r = run_edited_experiment(dir, [](json& e) {
    e["compression"] = {{{"codec", "none"}}, {{"codec", "zip"}}};
  });
  check_bad_input(r, {"experiment.json", "/compression/1/codec", "unknown codec \"zip\""});
}

TEST_CASE("herd experiment: two compression settings with one name exit 2",
          "[apps][integration]") {
  temp_dir dir;
  auto r = run_edited_experiment(dir, [](json& e) {
    e["compression"] = {{{"codec", "fp16"}}, {{"codec", "fp16"}, {"density", 0.5}}};
  });
  check_bad_input(r, {"/compression/1", "duplicate setting name \"fp16\"", "/compression/0"});
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

TEST_CASE("herd experiment: --dry-run checks the compression example and lists its 42 runs",
          "[apps][integration]") {
  temp_dir dir;
  auto out = dir.file("out");
  auto r = run_herd(
    {"experiment", example("experiments/compression.json"), "--output", out, "--dry-run"}, dir);
  INFO("exit code " << r.code << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.code == exit_ok);
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 43);
  CHECK_THAT(lines[0], StartsWith("run 1/42: bsp none none seed 1"));
  CHECK_THAT(lines[9], StartsWith("run 10/42: bsp bf16/pull-bf16 none seed 1"));
  CHECK_THAT(lines[12], StartsWith("run 13/42: bsp topk0.1%+ef none seed 1"));
  CHECK_THAT(lines[12], Contains("bsp-topk0.1pct-ef-none-seed1"));
  CHECK_THAT(lines[15], StartsWith("run 16/42: bsp sign+ef none seed 1"));
  CHECK_THAT(lines[41], StartsWith("run 42/42: asp qsgd4 none seed 3"));
  CHECK_THAT(lines[42], StartsWith("ok: 42 runs"));
  CHECK_FALSE(fs::exists(out));
}

// A full disk, made with /dev/full: one run's summary is opened through a link there.
TEST_CASE("herd experiment: a run whose files cannot be written is named and the exit is 1",
          "[apps][integration]") {
  temp_dir dir;
  auto out = dir.path() / "out";
  auto run_dir = out / "runs" / "bsp-none-seed1";
  fs::create_directories(run_dir);
  fs::create_symlink("/dev/full", run_dir / "summary.json.pending");
  auto r = run_herd({"experiment", example("experiments/consistency_tiny.json"), "--output",
                     out.string(), "--quiet"},
                    dir);
  INFO("exit code " << r.code << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.code == 1); // apps/commands.hpp exit_failed
  CHECK_THAT(r.err, Contains((run_dir / "summary.json").string()
                             + ": cannot write (No space left on device)")
                      && Contains("the files of 1 run(s) could not all be written"));
  CHECK(lines_of(read_text((out / "results.csv").string())).size() == 5); // the rest whole
}
