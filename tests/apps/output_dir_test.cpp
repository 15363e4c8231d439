// What a run does to its output directory when it fails before the job starts (nothing), and
// to its checkpoint directory: checked at start, and a checkpoint failing later is on stderr
// and in the exit status, --quiet or not.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "job_files.hpp"

using namespace herd::apps::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> output_names = {"job.json", "metrics.jsonl", "summary.json"};

/// An output directory holding an earlier run's three files (recognisable text).
std::string earlier_output(const temp_dir& dir) {
  auto out = dir.file("keep");
  fs::create_directory(out);
  for (const auto& n : output_names)
    write_text((fs::path(out) / n).string(), "earlier run: " + n + "\n");
  return out;
}

void check_untouched(const std::string& out) {
  for (const auto& n : output_names)
    CHECK(read_text((fs::path(out) / n).string()) == "earlier run: " + n + "\n");
  CHECK(std::distance(fs::directory_iterator(out), fs::directory_iterator{}) == 3);
}

constexpr int exit_failed = 1; // apps/commands.hpp: the job failed while running

} // namespace

TEST_CASE("herd run: a run failing before its job starts leaves the output directory untouched",
          "[apps][integration]") {
  temp_dir dir;
  auto files = write_dataset(dir, true);
  auto out = earlier_output(dir);

  SECTION("a node of the cluster cannot be reached") {
    auto cluster = dir.file("cluster.json");
    write_text(cluster, R"({"nodes": [{"name": "a", "host": "127.0.0.1", "port": 1},
                                      {"name": "b", "host": "127.0.0.1", "port": 2}],
                            "connect_timeout_s": 1})");
    auto job = write_job(dir, tiny_job(files, dir.file("unused")));
    auto r = run_herd({"run", job, "--cluster", cluster, "--output", out, "--quiet"}, dir);
    INFO(r.err);
    CHECK(r.code == exit_failed);
    CHECK_THAT(r.err, Contains("cannot reach node(s)"));
    check_untouched(out);
    // Nor is a directory made for a run that never started.
    auto fresh = dir.file("fresh/sub");
    r = run_herd({"run", job, "--cluster", cluster, "--output", fresh, "--quiet"}, dir);
    CHECK(r.code == exit_failed);
    CHECK_FALSE(fs::exists(dir.file("fresh")));
  }
  SECTION("the checkpoint to resume from is of other pipeline stages") {
    auto job = tiny_job(files, dir.file("first"));
    job["shards"] = 2;
    job["checkpoint"] = {{"every", 4}};
    REQUIRE(run_herd({"run", write_job(dir, job), "--quiet"}, dir).code == exit_ok);
    // The same layers, shard count and optimizer, but as two pipeline stages: the shards would
    // hold other slices. Refused before the job starts.
    job["workers"] = 2;
    job["parallelism"] = {{"pipeline_stages", 2}};
    auto r = run_herd({"run", write_job(dir, job, "stages.json"), "--output", out, "--quiet",
                       "--resume", dir.file("first") + "/checkpoints"},
                      dir);
    INFO(r.err);
    CHECK(r.code == exit_bad_input);
    CHECK_THAT(r.err, Contains("the checkpoint is of 1 pipeline stage(s)")
                        && Contains("/parallelism/pipeline_stages asks for 2"));
    check_untouched(out);
  }
}

TEST_CASE("herd run: a run that starts replaces the earlier outputs and leaves nothing aside",
          "[apps][integration]") {
  temp_dir dir;
  auto out = earlier_output(dir);
  auto job = tiny_job(write_dataset(dir, true), out);
  auto r = run_herd({"run", write_job(dir, job), "--quiet"}, dir);
  INFO(r.err);
  REQUIRE(r.code == exit_ok);
  for (const auto& n : output_names)
    CHECK(read_text((fs::path(out) / n).string()).rfind("earlier run", 0) == std::string::npos);
  CHECK(std::distance(fs::directory_iterator(out), fs::directory_iterator{}) == 3);
}

TEST_CASE("herd run: a checkpoint directory that cannot be made is refused before training",
          "[apps][integration]") {
  temp_dir dir;
  auto blocker = dir.file("afile");
  write_text(blocker, "a file\n");
  auto job = tiny_job(write_dataset(dir, true), dir.file("out"));
  for (const auto& ckpt : {blocker, blocker + "/below"}) {
    job["checkpoint"] = {{"dir", ckpt}, {"every", 2}};
    auto path = write_job(dir, job);
    auto r = run_herd({"run", path, "--quiet"}, dir);
    INFO(r.err);
    CHECK(r.code == exit_bad_input);
    CHECK(r.out.empty());
    REQUIRE(r.err_lines().size() == 1);
    CHECK_THAT(r.err, Contains(path + ": /checkpoint/dir") && Contains("not a directory"));
    CHECK(read_text(blocker) == "a file\n");
    CHECK_FALSE(fs::exists(dir.file("out")));
  }
  // A directory nobody may write in, root included (access() says yes to root there).
  job["checkpoint"] = {{"dir", "/proc/herd-checkpoints"}, {"every", 2}};
  auto path = write_job(dir, job);
  auto r = run_herd({"run", path, "--quiet"}, dir);
  INFO(r.err);
  CHECK(r.code == exit_bad_input);
  REQUIRE(r.err_lines().size() == 1);
  CHECK_THAT(r.err, Contains(path + ": /checkpoint/dir") && Contains("/proc is not writable"));
  CHECK_FALSE(fs::exists(dir.file("out")));
}

TEST_CASE("herd run: checkpoints failing while the job runs are on stderr with --quiet, exit 1",
          "[apps][integration]") {
  temp_dir dir;
  // Writable at start, but every checkpoint's own directory name is longer than a path may be.
  auto ckpt = dir.path().string();
  while (ckpt.size() < 4074)
    ckpt.append(1, '/').append(std::min<size_t>(200, 4074 - ckpt.size()), 'd');
  auto job = tiny_job(write_dataset(dir, true), dir.file("out"));
  job["checkpoint"] = {{"dir", ckpt}, {"every", 4}};
  auto r = run_herd({"run", write_job(dir, job), "--quiet"}, dir);
  CHECK(r.code == exit_failed);
  CHECK_THAT(r.out, Contains("final test accuracy")); // the job itself went on to its end
  CHECK(r.out.find("checkpoint failed") == std::string::npos);
  auto lines = r.err_lines();
  REQUIRE(lines.size() >= 2);
  for (size_t i = 0; i + 1 < lines.size(); ++i)
    CHECK(lines[i].rfind("herd: checkpoint failed: cannot create ", 0) == 0);
  CHECK_THAT(lines.back(), Contains("checkpoint(s) failed"));
  CHECK(fs::exists(dir.file("out") + "/summary.json"));
}

// A full disk, made with /dev/full: the pending files are opened through their links there.
TEST_CASE("herd run: outputs that cannot be written are named once each on stderr, exit 1",
          "[apps][integration]") {
  temp_dir dir;
  auto out = earlier_output(dir);
  auto job = tiny_job(write_dataset(dir, true), out);
  job["training"]["eval_every"] = 1; // several evaluations, one line for metrics.jsonl
  auto path = write_job(dir, job);

  SECTION("metrics.jsonl and summary.json") {
    fs::create_symlink("/dev/full", fs::path(out) / "metrics.jsonl.pending");
    fs::create_symlink("/dev/full", fs::path(out) / "summary.json.pending");
    auto r = run_herd({"run", path, "--quiet"}, dir);
    INFO(r.err);
    CHECK(r.code == exit_failed);
    CHECK_THAT(r.out, Contains("final test accuracy")); // the job itself went on to its end
    auto lines = r.err_lines();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0] == "herd: " + out + "/metrics.jsonl: cannot write (No space left on device)");
    CHECK(lines[1] == "herd: " + out + "/summary.json: cannot write (No space left on device)");
    // No summary cut short stands in for a whole one: the earlier run's went at the start.
    CHECK_FALSE(fs::exists(fs::path(out) / "summary.json"));
    CHECK_FALSE(fs::exists(fs::symlink_status(fs::path(out) / "summary.json.pending")));
    CHECK_THAT(read_text(out + "/job.json"), Contains("\"eval_every\": 1"));
  }
  SECTION("metrics.jsonl in the way (a directory): the lines stay aside, named") {
    fs::remove(fs::path(out) / "metrics.jsonl");
    fs::create_directory(fs::path(out) / "metrics.jsonl");
    auto r = run_herd({"run", path, "--quiet"}, dir);
    INFO(r.err);
    CHECK(r.code == exit_failed);
    auto aside = out + "/metrics.jsonl.pending";
    REQUIRE(r.err_lines().size() == 1);
    CHECK(r.err_lines()[0] == "herd: " + out + "/metrics.jsonl: cannot write (Is a directory); "
                                "the metrics are kept in " + aside);
    CHECK_THAT(r.out, Contains("metrics in " + aside + "\n"));
    CHECK_THAT(read_text(aside), Contains("\"clock\""));
  }
  SECTION("job.json, before the job starts") {
    fs::create_symlink("/dev/full", fs::path(out) / "job.json.pending");
    auto r = run_herd({"run", path, "--quiet"}, dir);
    INFO(r.err);
    CHECK(r.code == exit_failed);
    CHECK(r.out.empty());
    REQUIRE(r.err_lines().size() == 1);
    CHECK(r.err_lines()[0]
          == "herd: " + out + "/job.json: cannot write (No space left on device)");
    check_untouched(out);
  }
}
