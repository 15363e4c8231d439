// `herd experiment` into a directory an earlier experiment wrote: the run folders under runs/
// that the new experiment does not write are removed (saying so), so that every folder there
// belongs to the results beside it; its own run folders and other files are kept.
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
  write_text(dir.file("out/keep.txt"), "mine");

  auto second = experiment({{{"model", "bsp"}}});
  INFO(second.err);
  CHECK(second.code == exit_ok);
  CHECK_THAT(second.err, Contains("herd: removed 1 run folder(s) of an earlier experiment"));
  CHECK_FALSE(fs::exists(runs / "asp-none-seed1"));
  CHECK(fs::exists(runs / "bsp-none-seed1" / "summary.json"));
  CHECK(fs::exists(runs / "notes"));
  CHECK(fs::exists(dir.file("out/keep.txt")));
  CHECK(lines_of(read_text(dir.file("out/results.csv"))).size() == 2);
}
