// A node daemon keeps the training set it loaded for the next job on the same data config, but
// not once the files changed: a daemon that reused a set rewritten in place trained on the old
// samples, or failed every worker on sample indices past the old set's end.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "data/idx.hpp"
#include "tests/cluster/processes.hpp"
#include "tests/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using herd::test::herd_process;

// `count` 4x4 images and cyclic labels at `images` and `labels` (rewritten in place).
void write_training_set(const std::string& images, const std::string& labels, uint32_t count) {
  herd::data::idx_images im;
  im.count = count;
  im.rows = im.cols = 4;
  im.pixels.resize(size_t{count} * 16);
  for (size_t i = 0; i < im.pixels.size(); ++i)
    im.pixels[i] = uint8_t(i * 37 % 251);
  std::vector<uint8_t> y(count);
  for (uint32_t i = 0; i < count; ++i)
    y[i] = uint8_t(i % 10);
  REQUIRE_FALSE(herd::data::write_idx_images(images, im, false));
  REQUIRE_FALSE(herd::data::write_idx_labels(labels, y, false));
}

} // namespace

TEST_CASE("cluster: a daemon reloads a training set whose files were rewritten in place",
          "[integration]") {
  herd::test::temp_dir dir;
  auto port = std::to_string(herd::test::free_port());
  auto topology = dir.file("cluster.json");
  std::ofstream{topology} << R"({"nodes": [{"name": "a", "host": "127.0.0.1", "port": )" << port
                          << "}]}";
  auto train_images = dir.file("train-images"), train_labels = dir.file("train-labels");
  write_training_set(train_images, train_labels, 64);
  write_training_set(dir.file("test-images"), dir.file("test-labels"), 32);
  nlohmann::json job{
    {"name", "data_reload"},
    {"model", {{"layers", {16, 8, 10}}}},
    {"data",
     {{"train_images", train_images},
      {"train_labels", train_labels},
      {"test_images", dir.file("test-images")},
      {"test_labels", dir.file("test-labels")}}},
    {"training", {{"batch_size", 8}, {"epochs", 1}, {"eval_every", 0}, {"log_every", 0}}},
    {"nodes", {{{"name", "a"}}}},
    {"shards", {{{"node", "a"}}}},
    {"workers", {{{"node", "a"}}}},
    {"supervisor", {{"node", "a"}, {"restart", "never"}}}};
  auto job_path = dir.file("job.json");
  std::ofstream{job_path} << job.dump();

  herd_process daemon{{"node", "--topology", topology, "--name", "a"}, dir.file("node.log")};
  REQUIRE(daemon.wait_for_output("listening on", 20s));
  auto run = [&](const std::string& log) {
    herd_process p{{"run", job_path, "--cluster", topology, "--output", dir.file(log + "-out")},
                   dir.file(log + ".log")};
    auto code = p.wait(120s);
    auto out = p.output();
    INFO(out << "\nthe daemon's log:\n" << daemon.output());
    CHECK(code == 0);
    return out;
  };
  CHECK(run("first").find(": 64 training and 32 test samples") != std::string::npos);
  // Same paths, same data config, more samples: the held set is not this job's any more. With
  // the old one the worker met sample indices past 64 and the job failed.
  write_training_set(train_images, train_labels, 128);
  CHECK(run("second").find(": 128 training and 32 test samples") != std::string::npos);
  CHECK(daemon.output().find("past the training set") == std::string::npos);
}
