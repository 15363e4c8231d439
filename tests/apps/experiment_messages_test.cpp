// `herd experiment`'s lines around the runs: a gnuplot that hangs is stopped after
// HERD_GNUPLOT_TIMEOUT_S with one warning (the experiment still succeeds); a dataset error names
// the experiment or job file and the JSON path of the data file; a staleness on bsp or asp says
// what it got; counts of one read "1 run", "1 straggler"; a matrix over 10,000 runs and a
// checkpoint directory shared by all runs are refused before anything runs.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <tuple>
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

/// Sets an environment variable for the herd processes a test starts; the old value comes back
/// at the end of the scope.
class scoped_env {
public:
  scoped_env(const char* name, const std::string& value) : name_{name} {
    if (const char* old = std::getenv(name))
      old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~scoped_env() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

private:
  const char* name_;
  std::optional<std::string> old_;
};

/// An experiment of one bsp run of the tiny job on a generated dataset, the job inline or in
/// its own file; the experiment file's path.
std::string write_one_run_experiment(const temp_dir& dir, bool job_inline,
                                     const std::function<void(json&)>& edit_job = {}) {
  auto job = tiny_job(write_dataset(dir, false), dir.file("job-out"));
  if (edit_job)
    edit_job(job);
  json exp = {{"name", "one"}, {"consistency", {{{"model", "bsp"}}}}};
  exp["job"] = job_inline ? job : json(write_job(dir, job, "job.json"));
  auto path = dir.file("experiment.json");
  write_text(path, exp.dump(2));
  return path;
}

/// Exit code 2, nothing on stdout, one stderr line equal to `line`.
void check_one_error_line(const cli_result& r, const std::string& line) {
  INFO("exit code " << r.code << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.code == exit_bad_input);
  CHECK(r.out.empty());
  auto lines = r.err_lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == line);
}

} // namespace

TEST_CASE("herd experiment: a gnuplot that hangs is stopped after HERD_GNUPLOT_TIMEOUT_S",
          "[apps][integration]") {
  temp_dir dir;
  auto bin = dir.path() / "fakebin";
  fs::create_directory(bin);
  auto fake = (bin / "gnuplot").string();
  write_text(fake, "#!/bin/sh\nsleep 1000\n"); // no exec: the shell's child must be stopped too
  fs::permissions(fake, fs::perms::owner_all);
  scoped_env path{"PATH", bin.string() + ":" + std::getenv("PATH")};
  scoped_env limit{"HERD_GNUPLOT_TIMEOUT_S", "1"};
  auto exp = write_one_run_experiment(dir, false);
  auto out = dir.path() / "out";
  auto r = run_herd({"experiment", exp, "--output", out.string(), "--quiet"}, dir);
  INFO("exit code " << r.code << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.code == exit_ok); // as when gnuplot fails: the plot is a warning, not a failed run
  auto lines = r.err_lines();
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0], StartsWith("herd: warning: gnuplot did not finish in 1 s"));
  CHECK_THAT(lines[0], Contains("accuracy.png not drawn"));
  CHECK_THAT(r.out, StartsWith("1 of 1 run finished"));
  CHECK(fs::exists(out / "results.csv"));
  CHECK(fs::exists(out / "accuracy.gp"));
  CHECK_FALSE(fs::exists(out / "accuracy.png"));
}

TEST_CASE("herd experiment: a bad HERD_GNUPLOT_TIMEOUT_S is one warning and no plot",
          "[apps][integration]") {
  temp_dir dir;
  scoped_env limit{"HERD_GNUPLOT_TIMEOUT_S", "10s"};
  auto exp = write_one_run_experiment(dir, false);
  auto out = dir.path() / "out";
  auto r = run_herd({"experiment", exp, "--output", out.string(), "--quiet"}, dir);
  INFO("exit code " << r.code << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.code == exit_ok);
  auto lines = r.err_lines();
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0], StartsWith("herd: warning: HERD_GNUPLOT_TIMEOUT_S: expected a whole "
                                  "number of seconds"));
  CHECK_THAT(lines[0], Contains("\"10s\""));
  CHECK_FALSE(fs::exists(out / "accuracy.png"));
}

TEST_CASE("herd experiment: a missing data file of an inline job names the file and /job/data",
          "[apps][integration]") {
  temp_dir dir;
  auto missing = dir.file("nonexist");
  auto exp = write_one_run_experiment(dir, true,
                                      [&](json& job) { job["data"]["test_images"] = missing; });
  auto line = "herd: " + exp + ": /job/data/test_images: " + missing + ": no such file";
  auto out = dir.file("out");
  check_one_error_line(run_herd({"experiment", exp, "--output", out}, dir), line);
  check_one_error_line(run_herd({"experiment", exp, "--output", out, "--dry-run"}, dir), line);
  CHECK_FALSE(fs::exists(out));
}

TEST_CASE("herd experiment: a missing data file of a job file names that file and /data",
          "[apps][integration]") {
  temp_dir dir;
  auto missing = dir.file("nonexist");
  auto exp = write_one_run_experiment(dir, false,
                                      [&](json& job) { job["data"]["train_labels"] = missing; });
  check_one_error_line(run_herd({"experiment", exp, "--dry-run"}, dir),
                       "herd: " + dir.file("job.json") + ": /data/train_labels: " + missing
                         + ": no such file");
}

TEST_CASE("herd experiment: a staleness on bsp or asp says the value it got",
          "[apps][integration]") {
  temp_dir dir;
  auto job = tiny_job(write_dataset(dir, false), dir.file("job-out"));
  for (const auto& [model, staleness, got] :
       std::vector<std::tuple<std::string, json, std::string>>{
         {"bsp", 2, "2"}, {"bsp", 0, "0"}, {"asp", 3, "3"}}) {
    json exp = {{"job", job}, {"consistency", {{{"model", model}, {"staleness", staleness}}}}};
    auto path = dir.file("experiment.json");
    write_text(path, exp.dump());
    check_one_error_line(run_herd({"experiment", path, "--dry-run"}, dir),
                         "herd: " + path + ": /consistency/0/staleness: expected no staleness for "
                           + model + " (only ssp has a bound), got " + got);
  }
}

TEST_CASE("herd experiment: counts of one are singular in its output", "[apps][integration]") {
  temp_dir dir;
  auto exp = write_one_run_experiment(dir, false);
  auto out = dir.path() / "out";
  auto dry = run_herd({"experiment", exp, "--output", out.string(), "--dry-run"}, dir);
  INFO("stdout:\n" << dry.out << "\nstderr:\n" << dry.err);
  REQUIRE(dry.code == exit_ok);
  CHECK_THAT(dry.out, Contains("ok: 1 run on 64 training and 32 test samples"));
  auto r = run_herd({"experiment", exp, "--output", out.string()}, dir);
  INFO("exit code " << r.code << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.code == exit_ok);
  CHECK_THAT(r.out, Contains(": 1 run (1 consistency x 1 straggler x 1 seed) on 64 training"));
  CHECK_THAT(r.out, Contains("1 of 1 run finished; results in "));
}

TEST_CASE("herd experiment: a matrix of more than 10000 runs is refused before it is planned",
          "[apps][integration]") {
  temp_dir dir;
  auto job = tiny_job(write_dataset(dir, false), dir.file("job-out"));
  // {consistency settings, straggler scenarios, seeds}: just over the limit, and 1e8 runs.
  for (auto [nc, ns, nseeds] : std::vector<std::tuple<int, int, int>>{{11, 1, 1000},
                                                                       {1000, 100, 1000}}) {
    json exp = {{"job", job}, {"consistency", json::array()}, {"stragglers", json::array()},
                {"seeds", json::array()}};
    for (int i = 0; i < nc; ++i)
      exp["consistency"].push_back({{"model", "ssp"}, {"staleness", i}});
    for (int i = 0; i < ns; ++i) {
      std::string name = "s"; // appended: "s" + to_string trips gcc 12's -Wrestrict
      exp["stragglers"].push_back({{"name", name += std::to_string(i)}});
    }
    for (int i = 0; i < nseeds; ++i)
      exp["seeds"].push_back(i);
    auto path = dir.file("experiment.json");
    write_text(path, exp.dump());
    auto runs = std::to_string(size_t(nc) * size_t(ns) * size_t(nseeds));
    auto plural = [](int n) { return n == 1 ? "" : "s"; };
    check_one_error_line(
      run_herd({"experiment", path, "--dry-run"}, dir),
      "herd: " + path + ": " + runs + " runs (" + std::to_string(nc) + " consistency settings x "
        + "1 compression setting x " + std::to_string(ns) + " straggler scenario" + plural(ns)
        + " x " + std::to_string(nseeds) + " seeds); at most 10000 in one experiment: split it");
  }
}

TEST_CASE("herd experiment: a checkpoint directory every run would share is refused",
          "[apps][integration]") {
  temp_dir dir;
  auto exp = write_one_run_experiment(dir, true, [&](json& job) {
    job["checkpoint"] = {{"every", 4}, {"dir", dir.file("ckpt")}};
  });
  auto line = "herd: " + exp + ": /job/checkpoint/dir: every run of an experiment would "
              "checkpoint into this one directory; leave it out (each run then checkpoints "
              "into runs/<run>/checkpoints)";
  auto out = dir.path() / "out";
  check_one_error_line(run_herd({"experiment", exp, "--output", out.string(), "--dry-run"}, dir),
                       line);
  check_one_error_line(run_herd({"experiment", exp, "--output", out.string()}, dir), line);
  CHECK_FALSE(fs::exists(out));
  // Without a directory, each run checkpoints into its own folder.
  exp = write_one_run_experiment(dir, true, [&](json& job) {
    job["checkpoint"] = {{"every", 4}};
  });
  auto r = run_herd({"experiment", exp, "--output", out.string(), "--quiet"}, dir);
  INFO(r.err);
  CHECK(r.code == exit_ok);
  CHECK_FALSE(fs::is_empty(out / "runs" / "bsp-none-seed1" / "checkpoints"));
}
