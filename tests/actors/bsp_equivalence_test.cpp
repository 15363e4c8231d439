// BSP equivalence, end to end through the actors: P workers at per-worker batch b give the
// same parameters as one worker at batch P*b over the same samples.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/job.hpp"
#include "actors/system_config.hpp"
#include "tests/actors/synthetic_data.hpp"

using namespace herd;

namespace {

actors::job_inputs small_job(int workers, int batch, int shards,
                             config::optimizer_kind opt) {
  actors::job_inputs in;
  auto& cfg = in.cfg;
  cfg.model.layers = {20, 16, 12, 4};
  cfg.optimizer.type = opt;
  cfg.optimizer.lr = opt == config::optimizer_kind::adam ? 0.01 : 0.1;
  cfg.optimizer.momentum = 0.9;
  cfg.optimizer.nesterov = true;
  cfg.optimizer.weight_decay = 1e-3;
  cfg.training.batch_size = batch;
  cfg.training.chunk_batches = 1; // chunk = one batch: the workers of a clock share its samples
  cfg.training.epochs = 2;
  cfg.training.max_steps = 12;
  cfg.training.eval_every = 0;
  cfg.shards.assign(size_t(shards), config::shard_config{"local"});
  cfg.workers.assign(size_t(workers), config::worker_config{"local", "cpu", {}});
  in.train = std::make_shared<data::dataset>(test::synthetic_dataset(256, 20, 4, 1));
  in.test = std::make_shared<data::dataset>(test::synthetic_dataset(64, 20, 4, 2));
  return in;
}

std::vector<float> train(const actors::job_inputs& in) {
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  auto r = actors::run_job(sys, in);
  REQUIRE(r);
  CHECK(r->clock == 12);
  return r->params;
}

} // namespace

TEST_CASE("bsp: 2 workers at batch b equal 1 worker at batch 2b, with 2 shards",
          "[actors][integration]") {
  auto opt = GENERATE(config::optimizer_kind::sgd, config::optimizer_kind::adam);
  INFO("optimizer " << config::to_string(opt));
  auto one = train(small_job(1, 16, 2, opt));
  auto two = train(small_job(2, 8, 2, opt));
  REQUIRE(one.size() == two.size());
  auto init = small_job(1, 16, 2, opt);
  size_t moved = 0;
  for (size_t i = 0; i < one.size(); ++i) {
    INFO("parameter " << i);
    REQUIRE(std::fabs(one[i] - two[i]) <= 1e-5f + 1e-4f * std::fabs(one[i]));
    moved += one[i] != 0.0f;
  }
  CHECK(moved > one.size() / 2); // training really changed the parameters
}

TEST_CASE("bsp: 4 workers over 3 shards equal 1 worker at 4x the batch", "[actors][integration]") {
  auto one = train(small_job(1, 16, 3, config::optimizer_kind::sgd));
  auto four = train(small_job(4, 4, 3, config::optimizer_kind::sgd));
  for (size_t i = 0; i < one.size(); ++i) {
    INFO("parameter " << i);
    REQUIRE(std::fabs(one[i] - four[i]) <= 1e-5f + 1e-4f * std::fabs(one[i]));
  }
}

TEST_CASE("bsp: a different sample order gives different parameters", "[actors][integration]") {
  // Guards the equivalence tests against passing trivially.
  auto a = small_job(2, 8, 2, config::optimizer_kind::sgd);
  auto b = a;
  b.cfg.training.seed = a.cfg.training.seed + 1;
  auto pa = train(a);
  auto pb = train(b);
  size_t differ = 0;
  for (size_t i = 0; i < pa.size(); ++i)
    differ += std::fabs(pa[i] - pb[i]) > 1e-4f;
  CHECK(differ > pa.size() / 10);
}

TEST_CASE("bsp: 4 workers end at the same parameters bit for bit whatever order pushes arrive in",
          "[actors][integration]") {
  // A straggler's pushes arrive last in each round, so each run below sums its rounds in
  // another arrival order (and hands the chunks to other workers). Float addition is not
  // associative: summed in arrival order, 3 or more gradients give other bits per order.
  auto base = small_job(4, 4, 2, config::optimizer_kind::adam);
  base.cfg.training.chunk_batches = 2;
  // Stochastic codecs seed by the batch (its data key), not by the worker that computed it.
  base.cfg.compression.codec = GENERATE(std::string("none"), std::string("qsgd"),
                                        std::string("randk"));
  INFO("codec " << base.cfg.compression.codec);
  std::vector<std::vector<float>> runs;
  for (int slow : {-1, 0, 3}) {
    auto in = base;
    if (slow >= 0)
      in.cfg.workers[size_t(slow)].straggler = {4.0, 1.0};
    INFO("straggler " << slow);
    runs.push_back(train(in));
  }
  for (size_t r = 1; r < runs.size(); ++r) {
    INFO("run " << r);
    REQUIRE(runs[r].size() == runs[0].size());
    size_t differ = 0;
    for (size_t i = 0; i < runs[0].size(); ++i)
      differ += std::memcmp(&runs[r][i], &runs[0][i], sizeof(float)) != 0;
    CHECK(differ == 0);
  }
}
