// Checkpoints of pipeline jobs: every stage holds at the checkpoint's clock, stage 0 saves its
// place in the chunk, and a job resumed from the files trains on exactly as if it had never
// stopped.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "actors/checkpoint_store.hpp"
#include "actors/job.hpp"
#include "tests/actors/small_job.hpp"
#include "tests/temp_dir.hpp"

using namespace herd;
namespace fs = std::filesystem;

namespace {

enum class variant { dense, topk_feedback, fp16 };

// K = 2 stages, M = 4 micro-batches, `replicas` replicas, a checkpoint every 5 clocks; `v`:
// dense fp32, top-k with error feedback, or fp16 on large inputs (early overflows lower the
// loss scale).
actors::job_inputs pipeline_job(const std::string& ckpt_dir, int replicas,
                                variant v = variant::dense) {
  auto in = test::small_job();
  auto& cfg = in.cfg;
  cfg.optimizer.lr = 0.05;
  cfg.optimizer.momentum = 0.9;
  cfg.training.batch_size = 8;
  cfg.training.epochs = 2;
  cfg.parallelism.pipeline_stages = 2;
  cfg.parallelism.micro_batches = 4;
  cfg.shards.assign(3, config::shard_config{"local"});
  cfg.workers.assign(size_t(2 * replicas), config::worker_config{"local", "cpu", {}});
  cfg.checkpoint.every = 5;
  cfg.checkpoint.keep = 100;
  cfg.checkpoint.dir = ckpt_dir;
  if (v == variant::topk_feedback) {
    cfg.compression.codec = "topk";
    cfg.compression.density = 0.1;
    cfg.compression.error_feedback = true;
  } else if (v == variant::fp16) {
    cfg.precision.compute = config::compute_precision::fp16;
    in.train = test::scaled(*in.train, 60.0f);
  }
  return in;
}

// A copy of `from`'s checkpoint at `clock`, alone in a new directory, loaded.
actors::checkpoint only(test::temp_dir& dir, const std::string& from, uint64_t clock) {
  char name[40];
  std::snprintf(name, sizeof name, "ckpt-%012llu", (unsigned long long) clock);
  auto to = dir.file(std::string("only-") + name);
  fs::create_directories(to);
  fs::copy(from + "/" + name, to + "/" + name);
  auto c = actors::load_latest_checkpoint(to);
  REQUIRE(c);
  return *c;
}

} // namespace

TEST_CASE("pipeline checkpoint: resuming one replica gives the parameters of a run that never "
          "stopped",
          "[actors][integration]") {
  auto v = GENERATE(variant::dense, variant::topk_feedback, variant::fp16);
  INFO("variant " << int(v));
  test::temp_dir dir;
  auto straight = test::run_to_end(pipeline_job(dir.file("full"), 1, v));
  CHECK(straight.samples == 2 * 256);
  auto c = only(dir, dir.file("full"), 10);
  CHECK(c.clock == 10);
  REQUIRE(c.workers.size() == 2); // both stages, both at the checkpoint's clock
  for (const auto& w : c.workers)
    CHECK(w.clock == 10);
  // A pipeline job's chunks are one minibatch each: stage 0 holds between two of them.
  CHECK_FALSE(c.workers[0].has_chunk);
  CHECK_FALSE(c.workers[1].has_chunk);
  // Dense fp32 stages carry nothing; top-k stages their residuals; fp16 stage 0 its scale.
  CHECK(c.workers[0].carried.empty() == (v == variant::dense));
  CHECK(c.workers[1].carried.empty() == (v != variant::topk_feedback));
  auto in = pipeline_job(dir.file("resumed"), 1, v);
  in.resume = std::make_shared<const actors::checkpoint>(c);
  auto resumed = test::run_to_end(in);
  CHECK(resumed.clock == straight.clock);
  CHECK(resumed.samples == straight.samples);
  CHECK(resumed.params == straight.params);
  // A guard that the comparison can fail: another learning rate after the resume differs, and
  // so does a resume without what the stages carried.
  auto other = pipeline_job(dir.file("other"), 1, v);
  other.cfg.optimizer.lr = 0.1;
  other.resume = in.resume;
  CHECK(test::run_to_end(other).params != straight.params);
  if (v != variant::dense) {
    auto bare = c;
    for (auto& w : bare.workers)
      w.carried.clear();
    auto without = pipeline_job(dir.file("bare"), 1, v);
    without.resume = std::make_shared<const actors::checkpoint>(bare);
    CHECK(test::run_to_end(without).params != straight.params);
  }
}

TEST_CASE("pipeline checkpoint: two replicas resume with every sample trained once",
          "[actors][integration]") {
  test::temp_dir dir;
  auto straight = test::run_to_end(pipeline_job(dir.file("full"), 2));
  CHECK(straight.samples == 2 * 256);
  auto c = only(dir, dir.file("full"), 10);
  CHECK(c.workers.size() == 4);
  auto in = pipeline_job(dir.file("resumed"), 2);
  in.resume = std::make_shared<const actors::checkpoint>(c);
  auto resumed = test::run_to_end(in);
  CHECK(resumed.samples == straight.samples);
  // Every minibatch committed once after the resume too: each stage's shards took one push
  // per minibatch of the whole job (pushes are saved with the shards).
  CHECK(resumed.shards[0].pushes == 2 * 256 / 8);
  CHECK(resumed.shards[2].pushes == resumed.shards[0].pushes);
  for (float p : resumed.params)
    REQUIRE(std::isfinite(p));
}
