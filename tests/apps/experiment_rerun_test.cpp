// `herd experiment` into a directory that holds files from before. An earlier experiment's record
// is its experiment.json: all of its run folders are removed at the start (saying so), those
// the new experiment writes again too, so no stale result stays beside the new ones; its
// reports are rewritten. Other files and folders are kept, and files the new experiment would
// overwrite that no earlier experiment wrote there make it refuse (exit 2, nothing written).
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

TEST_CASE("herd experiment: a rerun into the same directory removes the run folders of the "
          "earlier experiment",
          "[apps][integration]") {
  temp_dir dir;
  write_job(dir, tiny_job(write_dataset(dir, false), dir.file("job-out")), "job.json");
  auto experiment = [&](const json& consistency) {
    json exp = {{"name", "rerun"},
                {"job", "job.json"},
                {"consistency", consistency},
                {"stragglers", {{{"name", "none"}}}},
                {"seeds", {1}}};
    auto path = dir.file("experiment.json");
    write_text(path, exp.dump(2));
    return run_herd({"experiment", path, "--output", dir.file("out"), "--quiet"}, dir);
  };
  auto first = experiment({{{"model", "bsp"}}, {{"model", "asp"}}});
  INFO(first.err);
  REQUIRE(first.code == exit_ok);
  auto runs = fs::path(dir.file("out")) / "runs";
  REQUIRE(fs::exists(runs / "asp-none-seed1" / "summary.json"));
  fs::create_directories(runs / "notes"); // not a run folder: kept
  fs::create_directories(runs / "foo");   // not one of the earlier experiment's runs: kept
  write_text((runs / "foo" / "job.json").string(), "{}");
  write_text(dir.file("out/keep.txt"), "mine");
  // A folder the rerun writes again goes first too: nothing of the earlier run stays in it.
  write_text((runs / "bsp-none-seed1" / "stale.txt").string(), "earlier");

  auto second = experiment({{{"model", "bsp"}}});
  INFO(second.err);
  CHECK(second.code == exit_ok);
  CHECK_THAT(second.err, Contains("herd: removed 2 run folder(s) of an earlier experiment"));
  CHECK_FALSE(fs::exists(runs / "asp-none-seed1"));
  CHECK(fs::exists(runs / "bsp-none-seed1" / "summary.json"));
  CHECK_FALSE(fs::exists(runs / "bsp-none-seed1" / "stale.txt"));
  CHECK(fs::exists(runs / "notes"));
  CHECK(read_text((runs / "foo" / "job.json").string()) == "{}");
  CHECK(fs::exists(dir.file("out/keep.txt")));
  CHECK(lines_of(read_text(dir.file("out/results.csv"))).size() == 2);
}

namespace {

/// A one-run experiment (bsp, no straggler, seed 1) of the tiny job; its file's path.
std::string one_run_experiment(const temp_dir& dir) {
  write_job(dir, tiny_job(write_dataset(dir, false), dir.file("job-out")), "job.json");
  json exp = {{"name", "fresh"}, {"job", "job.json"}, {"consistency", {{{"model", "bsp"}}}}};
  auto path = dir.file("experiment.json");
  write_text(path, exp.dump(2));
  return path;
}

} // namespace

TEST_CASE("herd experiment: a directory no experiment wrote keeps its folders, even with a "
          "job.json",
          "[apps][integration]") {
  temp_dir dir;
  auto exp = one_run_experiment(dir);
  auto out = fs::path(dir.file("out"));
  // What `herd run --output out/runs/tiny` leaves, and a user's folder with a job.json.
  auto tiny = run_herd(
    {"run", dir.file("job.json"), "--output", (out / "runs" / "tiny").string(), "--quiet"}, dir);
  REQUIRE(tiny.code == exit_ok);
  fs::create_directories(out / "runs" / "foo");
  write_text((out / "runs" / "foo" / "job.json").string(), "not herd's");
  write_text((out / "runs" / "foo" / "data.bin").string(), "mine");

  auto r = run_herd({"experiment", exp, "--output", out.string(), "--quiet"}, dir);
  INFO(r.err);
  CHECK(r.code == exit_ok);
  CHECK_THAT(r.err, !Contains("removed"));
  CHECK(fs::exists(out / "runs" / "tiny" / "summary.json"));
  CHECK(read_text((out / "runs" / "foo" / "job.json").string()) == "not herd's");
  CHECK(fs::exists(out / "runs" / "foo" / "data.bin"));
  CHECK(fs::exists(out / "runs" / "bsp-none-seed1" / "summary.json"));
}

TEST_CASE("herd experiment: files it would overwrite that no experiment wrote are refused",
          "[apps][integration]") {
  temp_dir dir;
  auto exp = one_run_experiment(dir);
  // A user's summary.md; a `herd run --output` into the folder of the experiment's one run.
  for (std::string mine : {"summary.md", "runs/bsp-none-seed1"}) {
    auto out = fs::path(dir.file("out-" + std::to_string(mine.size())));
    auto file = mine == "summary.md" ? out / mine : out / mine / "job.json";
    fs::create_directories(file.parent_path());
    write_text(file.string(), "mine");
    for (bool dry : {true, false}) {
      std::vector<std::string> args = {"experiment", exp, "--output", out.string()};
      if (dry)
        args.push_back("--dry-run");
      auto r = run_herd(args, dir);
      INFO("dry-run " << dry << ", exit code " << r.code << "\nstderr:\n" << r.err);
      CHECK(r.code == exit_bad_input);
      CHECK(r.out.empty());
      REQUIRE(r.err_lines().size() == 1);
      CHECK(r.err_lines()[0]
            == "herd: " + out.string() + ": holds " + mine + ", which no earlier experiment "
                 "wrote (no experiment.json of one there) and this one would overwrite; remove "
                 "them or choose another --output");
    }
    CHECK(read_text(file.string()) == "mine");
    CHECK_FALSE(fs::exists(out / "experiment.json"));
    CHECK_FALSE(fs::exists(out / "results.csv"));
  }
}
