// Small, valid inputs for the herd binary: a generated IDX dataset and a job that trains on it in
// well under a second. Tests break one piece at a time to check the error for that piece.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_runner.hpp"
#include "data/idx.hpp"

namespace herd::apps::test {

constexpr uint32_t image_side = 28;

/// Paths of the four dataset files.
struct dataset_files {
  std::string train_images, train_labels, test_images, test_labels;
};

/// `count` random 28x28 images, deterministic in `seed`.
inline data::idx_images random_images(uint32_t count, uint32_t seed) {
  data::idx_images img;
  img.count = count;
  img.rows = image_side;
  img.cols = image_side;
  img.pixels.resize(size_t{count} * image_side * image_side);
  std::mt19937 rng{seed};
  std::uniform_int_distribution<int> px{0, 255};
  for (auto& p : img.pixels)
    p = static_cast<uint8_t>(px(rng));
  return img;
}

/// Labels 0..9 repeating.
inline std::vector<uint8_t> cyclic_labels(uint32_t count) {
  std::vector<uint8_t> out(count);
  for (uint32_t i = 0; i < count; ++i)
    out[i] = static_cast<uint8_t>(i % 10);
  return out;
}

/// Writes `train` training and `test` test samples of 28x28 into `dir`, gzipped or plain.
inline dataset_files write_dataset(const temp_dir& dir, bool gzip, uint32_t train = 64,
                                   uint32_t test = 32) {
  const std::string ext = gzip ? ".gz" : "";
  dataset_files f{dir.file("train-images" + ext), dir.file("train-labels" + ext),
                  dir.file("test-images" + ext), dir.file("test-labels" + ext)};
  REQUIRE_FALSE(data::write_idx_images(f.train_images, random_images(train, 1), gzip));
  REQUIRE_FALSE(data::write_idx_labels(f.train_labels, cyclic_labels(train), gzip));
  REQUIRE_FALSE(data::write_idx_images(f.test_images, random_images(test, 2), gzip));
  REQUIRE_FALSE(data::write_idx_labels(f.test_labels, cyclic_labels(test), gzip));
  return f;
}

/// A job on `files` with tiny training: 1 epoch, batch 8, 1 worker, 1 shard, evaluation at the
/// end only, output in `output_dir`.
inline nlohmann::json tiny_job(const dataset_files& files, const std::string& output_dir) {
  return {
    {"name", "apps_test"},
    {"model", {{"layers", {image_side * image_side, 16, 10}}}},
    {"data",
     {{"train_images", files.train_images},
      {"train_labels", files.train_labels},
      {"test_images", files.test_images},
      {"test_labels", files.test_labels}}},
    {"training",
     {{"epochs", 1}, {"batch_size", 8}, {"eval_every", 0}, {"log_every", 0},
      {"target_accuracy", 0}}},
    {"shards", 1},
    {"workers", 1},
    {"output", {{"dir", output_dir}}},
  };
}

/// Writes `job` as a job file named `name` in `dir`; returns its path.
inline std::string write_job(const temp_dir& dir, const nlohmann::json& job,
                             const std::string& name = "job.json") {
  auto path = dir.file(name);
  write_text(path, job.dump(2));
  return path;
}

} // namespace herd::apps::test
