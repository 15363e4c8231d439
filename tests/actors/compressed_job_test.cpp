// Compression in a running job: gradients pushed compressed, parameters pulled in half
// precision, bytes on the wire counted, encode and decode timed, and the model still trains.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <caf/actor_system.hpp>

#include "actors/job.hpp"
#include "actors/system_config.hpp"
#include "tests/actors/synthetic_data.hpp"

using namespace herd;

namespace {

actors::job_result train(config::compression_config c, bool payloads_in_process = false) {
  actors::job_inputs in;
  in.transfer.payloads_in_process = payloads_in_process;
  auto& cfg = in.cfg;
  cfg.model.layers = {20, 32, 4};
  cfg.optimizer.lr = 0.05;
  cfg.training.batch_size = 16;
  cfg.training.epochs = 4;
  cfg.training.eval_every = 0;
  cfg.compression = c;
  cfg.shards.assign(2, config::shard_config{"local"});
  cfg.workers.assign(2, config::worker_config{"local", "cpu", {}});
  in.train = std::make_shared<data::dataset>(test::synthetic_dataset(2048, 20, 4, 1));
  in.test = std::make_shared<data::dataset>(test::synthetic_dataset(512, 20, 4, 2));
  actors::system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  auto r = actors::run_job(sys, in);
  REQUIRE(r);
  return *r;
}

} // namespace

TEST_CASE("compressed job: dense fp32 counts the bytes it moves", "[actors][integration]") {
  const uint64_t values = 20 * 32 + 32 + 32 * 4 + 4;
  SECTION("as payloads") {
    auto r = train({}, true);
    CHECK(r.up_dense_bytes == r.steps * 4 * values);
    CHECK(r.up_bytes > r.up_dense_bytes); // payload headers on top of the values
    CHECK(r.up_bytes < r.up_dense_bytes * 11 / 10);
    CHECK(r.final_eval.accuracy > 0.7);
  }
  SECTION("handed over in one process: the fp32 values, no headers") {
    auto r = train({});
    CHECK(r.up_dense_bytes == r.steps * 4 * values);
    CHECK(r.up_bytes == r.up_dense_bytes);
    CHECK(r.down_bytes == r.down_dense_bytes);
    CHECK(r.final_eval.accuracy > 0.7);
  }
}

TEST_CASE("compressed job: top-k with error feedback trains on a fraction of the uplink",
          "[actors][integration]") {
  config::compression_config c;
  c.codec = "topk";
  c.density = 0.05;
  c.error_feedback = true;
  auto r = train(c);
  CHECK(r.up_bytes * 5 < r.up_dense_bytes);
  CHECK(r.final_eval.accuracy > 0.7);
  // Encoding on the workers and decoding on the shards are timed, every payload once.
  CHECK(r.encode_ns > 0);
  CHECK(r.decode_ns > 0);
  CHECK(r.encode_us_per_step() > 0);
  CHECK(r.decode_us_per_step() > 0);
  uint64_t decode_ns = 0;
  for (const auto& s : r.shards) {
    CHECK(s.decoded == s.pushes + s.refused);
    CHECK(s.decoded == r.steps);
    decode_ns += s.decode_ns;
  }
  CHECK(decode_ns == r.decode_ns);
}

TEST_CASE("compressed job: top-k with momentum correction and warm-up trains",
          "[actors][integration]") {
  config::compression_config c;
  c.codec = "topk";
  c.density = 0.05;
  c.momentum_correction = true;
  c.warmup_steps = 50;
  auto r = train(c);
  CHECK(r.up_bytes * 3 < r.up_dense_bytes);
  CHECK(r.final_eval.accuracy > 0.7);
}

TEST_CASE("compressed job: fp16 pulls and bf16 pushes halve both directions",
          "[actors][integration]") {
  config::compression_config c;
  c.codec = "bf16";
  c.pull = config::pull_format::fp16;
  auto r = train(c);
  CHECK(r.up_bytes < r.up_dense_bytes * 6 / 10);
  CHECK(r.down_bytes < r.down_dense_bytes * 6 / 10);
  CHECK(r.final_eval.accuracy > 0.7);
}

TEST_CASE("compressed job: scaled sign and QSGD train", "[actors][integration]") {
  for (std::string name : {"sign", "qsgd"}) {
    INFO("codec " << name);
    config::compression_config c;
    c.codec = name;
    c.error_feedback = name == "sign";
    auto r = train(c);
    CHECK(r.up_bytes * 4 < r.up_dense_bytes);
    CHECK(r.final_eval.accuracy > 0.6);
  }
}

TEST_CASE("mixed precision job: bf16 and fp16 compute train, fp16 overflow skips steps",
          "[actors][integration]") {
  for (auto p : {config::compute_precision::bf16, config::compute_precision::fp16}) {
    INFO("precision " << config::to_string(p));
    actors::job_inputs in;
    auto& cfg = in.cfg;
    cfg.model.layers = {20, 32, 4};
    cfg.optimizer.type = config::optimizer_kind::adam; // insensitive to the input scale
    cfg.optimizer.lr = 0.01;
    cfg.training.batch_size = 16;
    cfg.training.epochs = 4;
    cfg.training.eval_every = 0;
    cfg.precision.compute = p;
    cfg.shards.assign(2, config::shard_config{"local"});
    cfg.workers.assign(2, config::worker_config{"local", "cpu", {}});
    // Large inputs make the first fp16 steps overflow at the starting scale of 2^16.
    auto train = test::synthetic_dataset(2048, 20, 4, 1);
    for (auto& x : train.x)
      x *= 60.0f;
    auto test_set = test::synthetic_dataset(512, 20, 4, 2);
    for (auto& x : test_set.x)
      x *= 60.0f;
    in.train = std::make_shared<data::dataset>(std::move(train));
    in.test = std::make_shared<data::dataset>(std::move(test_set));
    actors::system_config sys_cfg;
    caf::actor_system sys{sys_cfg};
    auto r = actors::run_job(sys, in);
    INFO((r ? std::string{} : describe(r.error())));
    REQUIRE(r);
    if (p == config::compute_precision::fp16) {
      CHECK(r->steps_skipped > 0);
      CHECK(r->steps_skipped < r->steps / 4);
    } else {
      CHECK(r->steps_skipped == 0);
    }
    uint64_t pushes = r->shards.front().pushes;
    CHECK(pushes == r->steps - r->steps_skipped); // a skipped step pushed nothing
    CHECK(r->final_eval.accuracy > 0.6);
  }
}

TEST_CASE("job: a sample that makes the gradient NaN costs one skipped step, not the job",
          "[actors][integration]") {
  actors::job_inputs in;
  auto& cfg = in.cfg;
  cfg.model.layers = {20, 32, 4};
  cfg.optimizer.lr = 0.05;
  cfg.training.batch_size = 16;
  cfg.training.epochs = 2;
  cfg.training.eval_every = 0;
  cfg.shards.assign(2, config::shard_config{"local"});
  cfg.workers.assign(2, config::worker_config{"local", "cpu", {}});
  auto clean = in;
  auto train = test::synthetic_dataset(2048, 20, 4, 1);
  clean.train = std::make_shared<data::dataset>(train);
  train.x[100 * 20 + 3] = std::numeric_limits<float>::quiet_NaN(); // sample 100
  in.train = std::make_shared<data::dataset>(std::move(train));
  in.test = std::make_shared<data::dataset>(test::synthetic_dataset(512, 20, 4, 2));
  clean.test = in.test;
  actors::system_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  auto r = actors::run_job(sys, in);
  auto without = actors::run_job(sys, clean);
  REQUIRE(without);
  CHECK(without->steps_skipped == 0);
  INFO((r ? std::string{} : describe(r.error())));
  REQUIRE(r);
  CHECK(r->steps_skipped == 2); // the batch holding sample 100, once per epoch
  CHECK(r->shards.front().pushes == r->steps - 2);
  CHECK(r->shards.front().refused == 0); // nothing non-finite reached a shard
  CHECK(r->final_eval.accuracy > 0.6);
  // Two of 256 steps skipped: the accuracy is that of the clean job, within a point.
  CHECK(std::abs(r->final_eval.accuracy - without->final_eval.accuracy) < 0.01);
}
