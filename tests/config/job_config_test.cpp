#include <catch2/catch.hpp>

#include "config/job_config.hpp"

using namespace herd::config;

TEST_CASE("config: a default job_config has the documented defaults", "[config]") {
  job_config job;
  CHECK(job.name == "job");
  CHECK(job.model.layers.empty());
  CHECK(job.model.init_seed == 1);
  CHECK(job.data.train_images == "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
  CHECK(job.data.test_labels == "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
  CHECK(job.data.normalize == normalization::standardize);
  CHECK(job.optimizer.type == optimizer_kind::sgd);
  CHECK(job.optimizer.lr == 0.05);
  CHECK(job.training.batch_size == 64);
  CHECK(job.training.epochs == 10);
  CHECK(job.consistency.model == consistency_model::bsp);
  CHECK(job.compression.codec == "none");
  REQUIRE(job.nodes.size() == 1);
  CHECK(job.nodes[0] == node_config{"local", "127.0.0.1", 0});
  CHECK(job.shards == std::vector<shard_config>(2, shard_config{"local"}));
  CHECK(job.workers == std::vector<worker_config>(2, worker_config{"local", "cpu", {}}));
  CHECK(job.supervisor.node == "local");
  CHECK(job.supervisor.restart == restart_policy::on_failure);
}

TEST_CASE("config: enums print their JSON spelling", "[config]") {
  CHECK(std::string{to_string(consistency_model::ssp)} == "ssp");
  CHECK(std::string{to_string(restart_policy::on_failure)} == "on-failure");
  CHECK(std::string{to_string(normalization::scale)} == "scale");
  CHECK(std::string{to_string(optimizer_kind::adam)} == "adam");
  CHECK(std::string{to_string(compute_precision::fp32)} == "fp32");
}

TEST_CASE("config: output and checkpoint dirs default under runs/<name>", "[config]") {
  job_config job;
  job.name = "fm";
  CHECK(output_dir(job) == "runs/fm");
  CHECK(checkpoint_dir(job) == "runs/fm/checkpoints");
  job.output.dir = "/tmp/out";
  CHECK(output_dir(job) == "/tmp/out");
  CHECK(checkpoint_dir(job) == "/tmp/out/checkpoints");
  job.checkpoint.dir = "/ckpt";
  CHECK(checkpoint_dir(job) == "/ckpt");
}

TEST_CASE("config: device strings are cpu or cuda:N", "[config]") {
  CHECK(valid_device("cpu"));
  CHECK(cuda_ordinal("cpu") == std::nullopt);
  CHECK(cuda_ordinal("cuda:0") == 0);
  CHECK(cuda_ordinal("cuda:7") == 7);
  CHECK(cuda_ordinal("cuda:12") == 12);
  for (const char* bad : {"gpu", "cuda", "cuda:", "cuda:-1", "cuda:+1", "cuda:01", "cuda:1x",
                          "cuda: 1", "CUDA:0", "cpu0", "", "cuda:1234567890"}) {
    INFO(bad);
    CHECK_FALSE(valid_device(bad));
    CHECK(cuda_ordinal(bad) == std::nullopt);
  }
}
