// herd run --resume: continues from the newest whole checkpoint, says which one, and falls back
// (with a line naming it) when the newest is damaged; a checkpoint of another model is refused.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "cli_runner.hpp"

using namespace herd::apps::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

std::string job_text(const std::string& layers) {
  return R"({"name": "resume", "model": {"layers": )" + layers + R"(},
  "data": {"train_limit": 1000, "test_limit": 500},
  "optimizer": {"type": "adam", "lr": 0.001},
  "training": {"batch_size": 32, "epochs": 2, "eval_every": 0, "max_steps": 40},
  "checkpoint": {"every": 10, "keep": 5},
  "shards": 2, "workers": 1})";
}

} // namespace

TEST_CASE("herd run --resume: a damaged newest checkpoint falls back to the previous one",
          "[apps][integration]") {
  temp_dir scratch;
  auto job = scratch.file("job.json");
  write_text(job, job_text("[784, 32, 10]"));
  auto first = run_herd({"run", job, "--output", scratch.file("out"), "--quiet"}, scratch);
  REQUIRE(first.code == exit_ok);
  auto ckpts = scratch.file("out") + "/checkpoints";
  REQUIRE(fs::exists(ckpts + "/ckpt-000000000030/manifest.json"));
  REQUIRE(fs::exists(ckpts + "/ckpt-000000000040/manifest.json"));
  {
    std::fstream f{ckpts + "/ckpt-000000000040/shard-1.capnp",
                   std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(64);
    f.put('\x7f');
  }
  auto resumed = run_herd(
    {"run", job, "--output", scratch.file("out2"), "--quiet", "--resume", ckpts}, scratch);
  INFO(resumed.err);
  CHECK(resumed.code == exit_ok);
  CHECK_THAT(resumed.err, Contains("checkpoint ckpt-000000000040 skipped")
                            && Contains("shard-1.capnp does not match its checksum"));
  CHECK_THAT(resumed.err, Contains("the newest whole checkpoint in " + ckpts + " is at clock 30"));
  CHECK_THAT(resumed.out, Contains("after 40 steps"));
}

TEST_CASE("herd run --resume: a checkpoint of another model is refused, nothing is written",
          "[apps][integration]") {
  temp_dir scratch;
  auto job = scratch.file("job.json");
  write_text(job, job_text("[784, 32, 10]"));
  REQUIRE(run_herd({"run", job, "--output", scratch.file("out"), "--quiet"}, scratch).code
          == exit_ok);
  auto other = scratch.file("other.json");
  write_text(other, job_text("[784, 16, 10]"));
  auto r = run_herd({"run", other, "--output", scratch.file("out2"), "--quiet", "--resume",
                     scratch.file("out") + "/checkpoints"},
                    scratch);
  CHECK(r.code == exit_bad_input);
  CHECK_THAT(r.err, Contains("the checkpoint is of a model with layers [784, 32, 10], " + other
                             + ": /model/layers asks for [784, 16, 10]"));
  CHECK_FALSE(fs::exists(scratch.file("out2")));
  auto missing = run_herd({"run", job, "--quiet", "--resume", scratch.file("nowhere")}, scratch);
  CHECK(missing.code == exit_bad_input);
  CHECK_THAT(missing.err, Contains("cannot read checkpoint directory"));
}

TEST_CASE("herd run --resume: a checkpoint taken when training ended is bad input, outputs kept",
          "[apps][integration]") {
  temp_dir scratch;
  auto job = scratch.file("job.json");
  auto text = job_text("[784, 32, 10]");
  auto limit = text.find(", \"max_steps\": 40");
  REQUIRE(limit != std::string::npos);
  write_text(job, text.erase(limit, 17)); // both epochs
  auto out = scratch.file("out");
  REQUIRE(run_herd({"run", job, "--output", out, "--quiet"}, scratch).code == exit_ok);
  auto metrics = read_text(out + "/metrics.jsonl");
  auto summary = read_text(out + "/summary.json");
  // The newest checkpoint was taken as training ended: the same job has nothing to train.
  auto r = run_herd({"run", job, "--output", out, "--quiet", "--resume", out + "/checkpoints"},
                    scratch);
  INFO(r.err);
  CHECK(r.code == exit_bad_input);
  CHECK_THAT(r.err, Contains("nothing to resume"));
  CHECK(read_text(out + "/metrics.jsonl") == metrics);
  CHECK(read_text(out + "/summary.json") == summary);
}
