#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>

#include "data/dataset.hpp"
#include "data/idx.hpp"
#include "test_files.hpp"

using namespace herd;
using namespace herd::data;
using namespace herd::data::test;

namespace {

const std::string fashion_dir = "/usr/share/datasets/fashion-mnist/";

bool mentions(const caf::error& err, const std::string& part) {
  return describe(err).find(part) != std::string::npos;
}

// `count` images of 2x3 whose pixel j of image i is (i*6+j)*5, and labels i % 10.
void write_small(const temp_dir& dir, uint32_t count, uint32_t labels_count) {
  idx_images img;
  img.count = count;
  img.rows = 2;
  img.cols = 3;
  for (uint32_t i = 0; i < count * 6; ++i)
    img.pixels.push_back(static_cast<uint8_t>(i * 5));
  REQUIRE_FALSE(write_idx_images(dir.file("img.gz"), img, true));
  std::vector<uint8_t> lab;
  for (uint32_t i = 0; i < labels_count; ++i)
    lab.push_back(static_cast<uint8_t>(i % 10));
  REQUIRE_FALSE(write_idx_labels(dir.file("lab.gz"), lab, true));
}

// Plain reference for mean and population standard deviation.
std::pair<double, double> naive_stats(const std::vector<float>& v) {
  double mean = 0;
  for (float x : v)
    mean += x;
  mean /= static_cast<double>(v.size());
  double var = 0;
  for (float x : v)
    var += (x - mean) * (x - mean);
  return {mean, std::sqrt(var / static_cast<double>(v.size()))};
}

} // namespace

TEST_CASE("dataset: pixels are scaled to 0..1 and labels kept in order", "[data]") {
  temp_dir dir;
  write_small(dir, 8, 8);
  auto d = load_dataset(dir.file("img.gz"), dir.file("lab.gz"));
  REQUIRE(d);
  CHECK(d->count == 8);
  CHECK(d->features == 6);
  CHECK(d->classes == 10);
  REQUIRE(d->x.size() == 48);
  REQUIRE(d->y.size() == 8);
  for (size_t i = 0; i < 48; ++i)
    CHECK(d->x[i] == Approx(static_cast<float>(i * 5) / 255.0f));
  for (size_t i = 0; i < 8; ++i) {
    CHECK(d->y[i] == i % 10);
    CHECK(d->row(i) == d->x.data() + i * 6);
  }
  CHECK(d->row(7)[5] == Approx(235.0f / 255.0f));
}

TEST_CASE("dataset: a limit keeps the first samples", "[data]") {
  temp_dir dir;
  write_small(dir, 8, 8);
  auto d = load_dataset(dir.file("img.gz"), dir.file("lab.gz"), 3);
  REQUIRE(d);
  CHECK(d->count == 3);
  CHECK(d->x.size() == 18);
  CHECK(d->y == std::vector<uint8_t>{0, 1, 2});
  CHECK(d->x[17] == Approx(85.0f / 255.0f));
  auto all = load_dataset(dir.file("img.gz"), dir.file("lab.gz"), 100);
  REQUIRE(all);
  CHECK(all->count == 8);
}

TEST_CASE("dataset: a limit reads only the samples it keeps, gzip or plain", "[data]") {
  temp_dir dir;
  // Headers declaring 2.5 million images and labels; only the first 3 are there.
  auto img = idx_header(idx_images_magic, {2500000, 2, 3});
  for (uint8_t i = 0; i < 18; ++i)
    img.push_back(static_cast<uint8_t>(i * 5));
  auto lab = idx_header(idx_labels_magic, {2500000});
  lab.insert(lab.end(), {7, 8, 9});
  write_bytes(dir.file("img"), img);
  write_bytes(dir.file("lab"), lab);
  write_gzip_bytes(dir.file("img.gz"), img);
  write_gzip_bytes(dir.file("lab.gz"), lab);
  for (std::string ext : {"", ".gz"}) {
    INFO(ext);
    auto d = load_dataset(dir.file("img" + ext), dir.file("lab" + ext), 3);
    REQUIRE(d);
    CHECK(d->count == 3);
    CHECK(d->file_count == 2500000);
    CHECK(d->x.size() == 18);
    CHECK(d->x.capacity() == 18);
    CHECK(d->y == std::vector<uint8_t>{7, 8, 9});
    CHECK(d->x[17] == Approx(85.0f / 255.0f));
    // The whole file is still checked without a limit.
    auto all = load_dataset(dir.file("img" + ext), dir.file("lab" + ext));
    REQUIRE_FALSE(all);
    CHECK(code_of(all.error()) == errc::size_mismatch);
  }
}

TEST_CASE("dataset: an image and label count mismatch is size_mismatch naming both files",
          "[data]") {
  temp_dir dir;
  write_small(dir, 8, 7);
  auto d = load_dataset(dir.file("img.gz"), dir.file("lab.gz"));
  REQUIRE_FALSE(d);
  CHECK(code_of(d.error()) == errc::size_mismatch);
  CHECK(mentions(d.error(), dir.file("img.gz") + " has 8 images"));
  CHECK(mentions(d.error(), dir.file("lab.gz") + " has 7 labels"));
}

TEST_CASE("dataset: a label out of range is bad_format", "[data]") {
  temp_dir dir;
  write_small(dir, 4, 4);
  REQUIRE_FALSE(write_idx_labels(dir.file("lab.gz"), {0, 9, 10, 1}, true));
  auto d = load_dataset(dir.file("img.gz"), dir.file("lab.gz"));
  REQUIRE_FALSE(d);
  CHECK(code_of(d.error()) == errc::bad_format);
  CHECK(mentions(d.error(), "label 2 is 10, expected 0 to 9"));
}

TEST_CASE("dataset: file errors pass through", "[data]") {
  temp_dir dir;
  write_small(dir, 4, 4);
  auto d = load_dataset(dir.file("img.gz"), dir.file("missing.gz"));
  REQUIRE_FALSE(d);
  CHECK(code_of(d.error()) == errc::file_not_found);
  CHECK(mentions(d.error(), dir.file("missing.gz")));
  // Labels given as images: the image reader refuses the label magic.
  auto swapped = load_dataset(dir.file("lab.gz"), dir.file("img.gz"));
  REQUIRE_FALSE(swapped);
  CHECK(code_of(swapped.error()) == errc::bad_format);
}

TEST_CASE("dataset: stats match a plain reference and standardize gives mean 0 and stddev 1",
          "[data]") {
  const auto seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937 gen{seed};
  std::uniform_real_distribution<float> dist{0.0f, 1.0f};
  dataset d;
  d.count = 257;
  d.features = 13;
  for (size_t i = 0; i < d.count * d.features; ++i)
    d.x.push_back(dist(gen) * dist(gen));
  d.y.assign(d.count, 0);
  auto [mean, stddev] = naive_stats(d.x);
  auto s = compute_stats(d);
  CHECK(s.mean == Approx(mean).epsilon(1e-6));
  CHECK(s.stddev == Approx(stddev).epsilon(1e-6));
  auto before = d.x;
  standardize(d, s);
  for (size_t i = 0; i < d.x.size(); i += 97)
    CHECK(d.x[i] == (before[i] - s.mean) / s.stddev);
  auto after = compute_stats(d);
  CHECK(after.mean == Approx(0.0).margin(1e-5));
  CHECK(after.stddev == Approx(1.0).epsilon(1e-5));
}

TEST_CASE("dataset: constant data gets stddev 1", "[data]") {
  dataset d;
  d.count = 3;
  d.features = 2;
  d.x.assign(6, 0.3f);
  auto s = compute_stats(d);
  CHECK(s.mean == Approx(0.3f));
  CHECK(s.stddev == 1.0f);
  standardize(d, s);
  for (float v : d.x)
    CHECK(std::abs(v) < 1e-6f);
}

TEST_CASE("dataset: reads the real Fashion-MNIST train and test files", "[data]") {
  const std::array<std::string, 4> files = {
    fashion_dir + "train-images-idx3-ubyte.gz", fashion_dir + "train-labels-idx1-ubyte.gz",
    fashion_dir + "t10k-images-idx3-ubyte.gz", fashion_dir + "t10k-labels-idx1-ubyte.gz"};
  for (const auto& f : files) {
    if (!std::filesystem::exists(f)) {
      WARN("skipped: Fashion-MNIST not installed (" << f << " missing)");
      return;
    }
  }
  auto img = read_idx_images(files[2]);
  REQUIRE(img);
  CHECK(img->count == 10000);
  CHECK(img->rows == 28);
  CHECK(img->cols == 28);

  auto train = load_dataset(files[0], files[1]);
  REQUIRE(train);
  auto test = load_dataset(files[2], files[3]);
  REQUIRE(test);
  CHECK(train->count == 60000);
  CHECK(test->count == 10000);
  CHECK(train->features == 784);
  for (const auto* d : {&*train, &*test}) {
    std::array<size_t, 10> per_class{};
    for (auto y : d->y) {
      REQUIRE(y < 10);
      ++per_class[y];
    }
    for (auto n : per_class) // Fashion-MNIST is balanced
      CHECK(n == d->count / 10);
  }
  auto s = compute_stats(*train);
  CHECK(s.mean == Approx(0.2860).margin(0.0005));
  CHECK(s.stddev == Approx(0.3530).margin(0.0005));
}
