// Pipeline jobs in reduced precision and with bad data: bf16 and fp16 stages train, an fp16
// overflow anywhere in the replica skips the minibatch on every stage's shards, and a sample
// that makes the gradient NaN costs a skipped minibatch, not the replica.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "actors/job.hpp"
#include "tests/actors/small_job.hpp"

using namespace herd;

namespace {

// 2 replicas x 2 stages, M = 4, Adam (insensitive to the input scale), 4 epochs of 2048.
actors::job_inputs pipeline_job(float input_scale) {
  auto in = test::small_job();
  auto& cfg = in.cfg;
  cfg.model.layers = {20, 32, 16, 4};
  cfg.optimizer.type = config::optimizer_kind::adam;
  cfg.optimizer.lr = 0.01;
  cfg.training.batch_size = 16;
  cfg.training.epochs = 4;
  cfg.parallelism.pipeline_stages = 2;
  cfg.parallelism.micro_batches = 4;
  cfg.shards.assign(3, config::shard_config{"local"});
  cfg.workers.assign(4, config::worker_config{"local", "cpu", {}});
  in.train = test::scaled(test::synthetic_dataset(2048, 20, 4, 1), input_scale);
  in.test = test::scaled(test::synthetic_dataset(512, 20, 4, 2), input_scale);
  return in;
}

constexpr uint64_t minibatches = 4 * 2048 / 16;

} // namespace

TEST_CASE("pipeline precision: bf16 and fp16 stages train, fp16 overflow skips whole minibatches",
          "[actors][integration]") {
  auto fp32 = test::run_to_end(pipeline_job(60.0f));
  for (auto p : {config::compute_precision::bf16, config::compute_precision::fp16}) {
    INFO("precision " << config::to_string(p));
    // Large inputs make the first fp16 minibatches overflow at the starting scale of 2^16.
    auto in = pipeline_job(60.0f);
    in.cfg.precision.compute = p;
    auto r = test::run_to_end(in);
    CHECK(r.samples == 4 * 2048);
    if (p == config::compute_precision::fp16) {
      CHECK(r.steps_skipped > 0);
      CHECK(r.steps_skipped < minibatches / 4);
    } else {
      CHECK(r.steps_skipped == 0);
    }
    // A skipped minibatch reached no stage's shard: each took one push per minibatch pushed.
    for (const auto& s : r.shards) {
      CHECK(s.pushes == minibatches - r.steps_skipped);
      CHECK(s.refused == 0);
    }
    INFO("fp32 " << fp32.final_eval.accuracy << ", this " << r.final_eval.accuracy);
    CHECK(r.final_eval.accuracy > 0.6);
    CHECK(r.final_eval.accuracy > fp32.final_eval.accuracy - 0.1);
  }
}

TEST_CASE("pipeline precision: a sample that makes the gradient NaN costs a skipped minibatch",
          "[actors][integration]") {
  auto in = pipeline_job(1.0f);
  auto clean = test::run_to_end(in);
  CHECK(clean.steps_skipped == 0);
  auto train = *in.train;
  train.x[100 * 20 + 3] = std::numeric_limits<float>::quiet_NaN(); // sample 100
  in.train = std::make_shared<data::dataset>(std::move(train));
  auto r = test::run_to_end(in); // no stage fails: the replica skips the minibatch
  CHECK(r.samples == 4 * 2048);
  CHECK(r.steps_skipped == 4); // the minibatch holding sample 100, once per epoch
  CHECK(r.steps == minibatches); // a replica's minibatch is one step, not one per stage
  // Every minibatch pulled every stage's slices, skipped or not; only the rest pushed.
  CHECK(r.down_dense_bytes == minibatches * 4 * r.params.size());
  CHECK(r.up_dense_bytes == (minibatches - 4) * 4 * r.params.size());
  for (const auto& s : r.shards) {
    CHECK(s.pushes == minibatches - 4);
    CHECK(s.refused == 0); // nothing non-finite reached a shard
  }
  CHECK(std::abs(r.final_eval.accuracy - clean.final_eval.accuracy) < 0.02);
}
