// SIGINT and SIGTERM: herd run stops the job as `herd ctl stop` does (final evaluation, summary,
// exit 128 + signal) and a second signal aborts at once (not the same one sent twice within 20 ms
// by one process, as GNU timeout does); herd experiment finishes the run in
// progress, starts no other and writes the results of the finished runs (summary.md says the
// others were not run); one that comes while the data loads ends it before any run, saying so.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <csignal>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "job_files.hpp"
#include "tests/cluster/processes.hpp"

using namespace herd::apps::test;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// Waits until `path` exists (true), or the process ends or 60 s pass (false).
bool wait_for_file(herd::test::herd_process& p, const std::string& path) {
  auto end = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < end && !fs::exists(path))
    if (p.wait(50ms) != -1)
      return fs::exists(path);
  return fs::exists(path);
}

/// The tiny job made wide: a step of about 0.3 s, so that a straggler factor (at most 100)
/// makes it last longer than a test waits.
json wide(json job) {
  job["model"]["layers"] = {image_side * image_side, 4096, 4096, 10};
  job["training"]["batch_size"] = 64; // the whole training set
  return job;
}

/// The tiny job, long: `epochs` epochs, its one worker slowed `factor` times.
json long_job(const temp_dir& dir, const std::string& out, int epochs, double factor) {
  auto job = tiny_job(write_dataset(dir, false), out);
  job["training"]["epochs"] = epochs;
  job["workers"] = json::array({{{"straggler", {{"factor", factor}}}}});
  return job;
}

/// An experiment over the wide tiny job, BSP and ASP x no straggler and `straggler` (worker 0
/// `factor` times slower), one seed: runs 1 (quick) and 2 (slowed) come first.
std::string write_experiment(const temp_dir& dir, const std::string& name,
                             const std::string& straggler, double factor) {
  auto job = wide(tiny_job(write_dataset(dir, false), dir.file("job-out")));
  job["training"]["target_accuracy"] = 0.99; // summary.md compares with BSP
  write_job(dir, job, "job.json");
  json exp = {{"name", name},
              {"job", "job.json"},
              {"consistency", {{{"model", "bsp"}}, {{"model", "asp"}}}},
              {"stragglers",
               {{{"name", "none"}},
                {{"name", straggler}, {"workers", {{"0", {{"factor", factor}}}}}}}},
              {"seeds", {1}}};
  auto path = dir.file("experiment.json");
  write_text(path, exp.dump(2));
  return path;
}

} // namespace

TEST_CASE("herd run: SIGINT stops the job after the current steps and writes the summary",
          "[apps][integration]") {
  temp_dir dir;
  auto out = dir.file("out");
  auto path = write_job(dir, long_job(dir, out, 1000, 20));
  herd::test::herd_process run{{"run", path}, dir.file("run.log")};
  REQUIRE(wait_for_file(run, out + "/job.json")); // the job has started
  run.kill(SIGINT);
  auto code = run.wait(60s);
  auto log = run.output();
  INFO(log);
  CHECK(code == 130);
  CHECK_THAT(log, Contains("herd: interrupted: stopping after the current steps (again to "
                           "abort)\n"));
  CHECK_THAT(log, Contains("final test accuracy"));
  // The worker was stopped, not removed: it does not "leave".
  CHECK(log.find(" left at clock") == std::string::npos);
  CHECK((log.find("worker 0 stopped at clock") != std::string::npos // mid-chunk
         || log.find("worker 0 finished at clock") != std::string::npos)); // at a chunk's end
  REQUIRE(fs::exists(out + "/summary.json"));
  auto summary = json::parse(read_text(out + "/summary.json"));
  CHECK(summary["samples"].get<uint64_t>() < 1000u * 64u); // stopped early
  CHECK(summary["stopped"] == true);
  CHECK_THAT(log, Contains("samples (stopped before the data was used up)"));
}

TEST_CASE("herd run: a second signal aborts at once", "[apps][integration]") {
  temp_dir dir;
  auto out = dir.file("out");
  // One step (about 30 s) takes longer than the test waits: a graceful stop would wait for it.
  auto path = write_job(dir, wide(long_job(dir, out, 1, 100)));
  herd::test::herd_process run{{"run", path}, dir.file("run.log")};
  REQUIRE(wait_for_file(run, out + "/job.json"));
  run.kill(SIGINT);
  REQUIRE(run.wait_for_output("herd: interrupted:", 30s));
  run.kill(SIGTERM);
  auto code = run.wait(30s);
  INFO(run.output());
  CHECK(code == 143);
  CHECK_THAT(run.output(), Contains("herd: aborted"));
  CHECK_FALSE(fs::exists(out + "/summary.json"));
  CHECK(fs::exists(out + "/metrics.jsonl")); // what the job wrote so far is kept
}

TEST_CASE("herd run: the same signal sent twice at once by one process counts once",
          "[apps][integration]") {
  // GNU timeout signals the process and then its process group: one request, sent twice.
  // Steps of about a second, so the job is still stopping when the second comes.
  temp_dir dir;
  auto out = dir.file("out");
  auto path = write_job(dir, wide(long_job(dir, out, 1000, 3)));
  herd::test::herd_process run{{"run", path}, dir.file("run.log")};
  REQUIRE(wait_for_file(run, out + "/job.json"));
  ::kill(run.pid(), SIGINT);
  // Two pending SIGINTs merge into one: the second comes once the first was delivered.
  std::this_thread::sleep_for(2ms);
  ::kill(run.pid(), SIGINT);
  auto code = run.wait(60s);
  INFO(run.output());
  CHECK(code == 130);
  CHECK(run.output().find("herd: aborted") == std::string::npos);
  CHECK(fs::exists(out + "/summary.json"));
}

TEST_CASE("herd experiment: SIGINT finishes the current run and writes the results so far",
          "[apps][integration]") {
  temp_dir dir;
  // Run 1 is quick; run 2, slowed, is in progress when the signal comes.
  auto path = write_experiment(dir, "interrupted", "slow", 20); // run 2: one step of ~6 s
  auto out = dir.file("out");
  herd::test::herd_process run{{"experiment", path, "--output", out}, dir.file("run.log")};
  REQUIRE(run.wait_for_output("run 1/4:", 60s));
  run.kill(SIGINT);
  auto code = run.wait(60s);
  auto log = run.output();
  INFO(log);
  CHECK(code == 130);
  CHECK_THAT(log, Contains("herd: interrupted: stopping after the current run"));
  CHECK_THAT(log, Contains("run 2/4:"));
  CHECK_THAT(log, !Contains("run 3/4:"));
  CHECK_THAT(log, Contains("2 of 4 runs finished"));
  CHECK(lines_of(read_text(out + "/results.csv")).size() == 3); // header and 2 runs
  auto summary = read_text(out + "/summary.md");
  CHECK_THAT(summary, Contains("| asp | none | not run |"));
  CHECK_THAT(summary, Contains("- none: asp/bsp = n/a (asp: not run)"));
  CHECK_THAT(summary, !Contains("failed"));
}

TEST_CASE("herd experiment: a second signal aborts the run in progress, and the results of the "
          "runs finished before it are written",
          "[apps][integration]") {
  temp_dir dir;
  // Run 2's one step (about 30 s) takes longer than the test waits: only an abort ends it.
  auto path = write_experiment(dir, "aborted", "stuck", 100);
  auto out = dir.file("out");
  herd::test::herd_process run{{"experiment", path, "--output", out}, dir.file("run.log")};
  REQUIRE(run.wait_for_output("run 1/4:", 60s));
  run.kill(SIGINT);
  REQUIRE(run.wait_for_output("herd: interrupted:", 30s));
  std::this_thread::sleep_for(100ms); // not taken for the first sent twice (20 ms)
  run.kill(SIGINT);
  auto code = run.wait(30s);
  INFO(run.output());
  CHECK(code == 130);
  CHECK_THAT(run.output(), Contains("herd: aborted"));
  auto results = lines_of(read_text(out + "/results.csv"));
  REQUIRE(results.size() == 2); // header and run 1
  CHECK(results[1].rfind("bsp,0,none,1,", 0) == 0);
  CHECK_THAT(read_text(out + "/summary.md"), Contains("1 of 4 runs done so far"));
}

TEST_CASE("herd experiment: a signal while the data loads ends it before the first run",
          "[apps][integration]") {
  temp_dir dir;
  auto path = write_experiment(dir, "early", "slow", 2);
  // Training images of 100,000 samples (78 MB), read while the test watches herd's open files:
  // the signal comes while the file is open, in the data loading. (A FIFO held the load once;
  // data files must now be regular files.)
  auto images = dir.file("train-images");
  REQUIRE_FALSE(herd::data::write_idx_images(images, random_images(100000, 1), false));
  REQUIRE_FALSE(herd::data::write_idx_labels(dir.file("train-labels"), cyclic_labels(100000),
                                             false));
  auto out = dir.file("out");
  herd::test::herd_process run{{"experiment", path, "--output", out}, dir.file("run.log")};
  auto reading = [&] {
    std::error_code ec;
    auto fds = "/proc/" + std::to_string(run.pid()) + "/fd";
    for (fs::directory_iterator it{fds, ec}, end; !ec && it != end; it.increment(ec))
      if (fs::read_symlink(it->path(), ec) == images)
        return true;
    return false;
  };
  bool seen = false;
  auto end = std::chrono::steady_clock::now() + 60s;
  while (!seen && std::chrono::steady_clock::now() < end && run.wait(0ms) == -1)
    seen = reading();
  INFO(run.output());
  REQUIRE(seen);
  run.kill(SIGINT);
  bool said = run.wait_for_output("herd: interrupted before the first run", 30s);
  auto code = run.wait(60s);
  auto log = run.output();
  INFO(log);
  CHECK(said);
  CHECK(code == 130);
  CHECK(log == "herd: interrupted before the first run: nothing is run or written (again to "
               "abort)\n");
  CHECK_FALSE(fs::exists(out));
}
