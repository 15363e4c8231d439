#include <catch2/catch.hpp>

#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>

#include "data/idx.hpp"
#include "test_files.hpp"

using namespace herd;
using namespace herd::data;
using namespace herd::data::test;

namespace {

// 4 images of 3x5 with distinct pixel values.
idx_images sample_images() {
  idx_images img;
  img.count = 4;
  img.rows = 3;
  img.cols = 5;
  for (uint32_t i = 0; i < img.count * img.rows * img.cols; ++i)
    img.pixels.push_back(static_cast<uint8_t>(i * 7 + 3));
  return img;
}

std::vector<uint8_t> sample_labels() {
  return {3, 1, 4, 1};
}

// The full byte content of sample_images() as a plain IDX file.
std::vector<uint8_t> sample_image_bytes() {
  auto img = sample_images();
  auto bytes = idx_header(idx_images_magic, {img.count, img.rows, img.cols});
  bytes.insert(bytes.end(), img.pixels.begin(), img.pixels.end());
  return bytes;
}

bool mentions(const caf::error& err, const std::string& part) {
  return describe(err).find(part) != std::string::npos;
}

} // namespace

TEST_CASE("idx: images and labels round trip through plain and gzip files", "[data]") {
  temp_dir dir;
  for (bool gzip : {false, true}) {
    INFO("gzip " << gzip);
    auto images = dir.file(gzip ? "img.gz" : "img");
    auto labels = dir.file(gzip ? "lab.gz" : "lab");
    REQUIRE_FALSE(write_idx_images(images, sample_images(), gzip));
    REQUIRE_FALSE(write_idx_labels(labels, sample_labels(), gzip));
    auto raw = read_bytes(images);
    REQUIRE(raw.size() >= 4);
    if (gzip) {
      CHECK(raw[0] == 0x1f);
      CHECK(raw[1] == 0x8b);
    } else {
      CHECK(raw == sample_image_bytes());
    }
    auto img = read_idx_images(images);
    REQUIRE(img);
    CHECK(img->count == 4);
    CHECK(img->rows == 3);
    CHECK(img->cols == 5);
    CHECK(img->pixels == sample_images().pixels);
    auto lab = read_idx_labels(labels);
    REQUIRE(lab);
    CHECK(*lab == sample_labels());
  }
}

TEST_CASE("idx: a gzip file written by plain zlib is read", "[data]") {
  temp_dir dir;
  auto path = dir.file("img.gz");
  write_gzip_bytes(path, sample_image_bytes());
  auto img = read_idx_images(path);
  REQUIRE(img);
  CHECK(img->pixels == sample_images().pixels);
}

TEST_CASE("idx: a missing file is file_not_found naming the path", "[data]") {
  temp_dir dir;
  auto path = dir.file("nope.gz");
  auto img = read_idx_images(path);
  REQUIRE_FALSE(img);
  CHECK(code_of(img.error()) == errc::file_not_found);
  CHECK(mentions(img.error(), path));
  auto lab = read_idx_labels(path);
  REQUIRE_FALSE(lab);
  CHECK(code_of(lab.error()) == errc::file_not_found);
}

TEST_CASE("idx: a symlink loop says so, not that the file is missing", "[data]") {
  temp_dir dir;
  auto path = dir.file("loop");
  std::filesystem::create_symlink(path, path);
  auto img = read_idx_images(path);
  REQUIRE_FALSE(img);
  CHECK(code_of(img.error()) == errc::io_error);
  CHECK(mentions(img.error(), path + ": cannot open for reading: "));
  CHECK(mentions(img.error(), std::error_code(ELOOP, std::generic_category()).message()));
}

TEST_CASE("idx: a wrong magic is bad_format naming both magics", "[data]") {
  temp_dir dir;
  auto labels = dir.file("lab");
  REQUIRE_FALSE(write_idx_labels(labels, sample_labels(), false));
  auto img = read_idx_images(labels);
  REQUIRE_FALSE(img);
  CHECK(code_of(img.error()) == errc::bad_format);
  CHECK(mentions(img.error(), "0x00000803"));
  CHECK(mentions(img.error(), "0x00000801"));
  CHECK(mentions(img.error(), labels));

  auto zip = dir.file("zip");
  write_bytes(zip, {'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  auto lab = read_idx_labels(zip);
  REQUIRE_FALSE(lab);
  CHECK(code_of(lab.error()) == errc::bad_format);
  CHECK(mentions(lab.error(), "0x00000801"));
  CHECK(mentions(lab.error(), "0x504B0304"));
}

TEST_CASE("idx: a wrong dimension count is bad_format", "[data]") {
  temp_dir dir;
  auto path = dir.file("two_dims");
  auto bytes = idx_header(0x00000802, {4, 15});
  bytes.resize(bytes.size() + 60, 1);
  write_bytes(path, bytes);
  auto img = read_idx_images(path);
  REQUIRE_FALSE(img);
  CHECK(code_of(img.error()) == errc::bad_format);
  CHECK(mentions(img.error(), "dimension count"));
}

TEST_CASE("idx: zero and absurd dimensions are bad_format", "[data]") {
  temp_dir dir;
  auto path = dir.file("dims");
  write_bytes(path, idx_header(idx_images_magic, {0, 28, 28}));
  auto zero = read_idx_images(path);
  REQUIRE_FALSE(zero);
  CHECK(code_of(zero.error()) == errc::bad_format);
  CHECK(mentions(zero.error(), "zero dimension"));

  write_bytes(path, idx_header(idx_labels_magic, {0}));
  auto zero_labels = read_idx_labels(path);
  REQUIRE_FALSE(zero_labels);
  CHECK(code_of(zero_labels.error()) == errc::bad_format);

  // 2^32-1 cubed overflows 64 bits; the cap must catch it before any allocation.
  write_bytes(path, idx_header(idx_images_magic, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}));
  auto huge = read_idx_images(path);
  REQUIRE_FALSE(huge);
  CHECK(code_of(huge.error()) == errc::bad_format);
  CHECK(mentions(huge.error(), "limit"));

  write_bytes(path, idx_header(idx_images_magic, {65536, 256, 129})); // 2^31 + 2^24 bytes
  auto over = read_idx_images(path);
  REQUIRE_FALSE(over);
  CHECK(code_of(over.error()) == errc::bad_format);
}

TEST_CASE("idx: truncated pixels are size_mismatch with expected and found counts", "[data]") {
  temp_dir dir;
  auto bytes = sample_image_bytes();
  bytes.resize(16 + 20); // header plus 20 of 60 pixels
  auto plain = dir.file("img");
  write_bytes(plain, bytes);
  auto gz = dir.file("img.gz");
  write_gzip_bytes(gz, bytes);
  for (const auto& path : {plain, gz}) {
    INFO(path);
    auto img = read_idx_images(path);
    REQUIRE_FALSE(img);
    CHECK(code_of(img.error()) == errc::size_mismatch);
    CHECK(describe(img.error())
          == path + ": truncated IDX data: expected 60 bytes of pixels, got 20");
  }
}

TEST_CASE("idx: a truncated header is size_mismatch", "[data]") {
  temp_dir dir;
  auto path = dir.file("img");
  auto bytes = sample_image_bytes();
  for (size_t keep : {0, 3, 10, 15}) {
    INFO("keep " << keep);
    write_bytes(path, {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(keep)});
    auto img = read_idx_images(path);
    REQUIRE_FALSE(img);
    CHECK(code_of(img.error()) == errc::size_mismatch);
    CHECK(mentions(img.error(), "truncated IDX header: expected 16 bytes, got "
                                  + std::to_string(keep)));
  }
}

TEST_CASE("idx: a corrupt gzip stream is bad_format", "[data]") {
  temp_dir dir;
  auto path = dir.file("img.gz");
  // The gzip magic followed by junk: an invalid header.
  write_bytes(path, {0x1f, 0x8b, 0x42, 0x13, 0x37, 0x00, 0xff, 0xee, 0x01, 0x02, 0x03, 0x04,
                     0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c});
  auto junk = read_idx_images(path);
  REQUIRE_FALSE(junk);
  CHECK(code_of(junk.error()) == errc::bad_format);
  CHECK(mentions(junk.error(), "corrupt gzip"));
  auto line = describe(junk.error()); // the path once: zlib's message names it too
  CHECK(line.find(path) == 0);
  CHECK(line.find(path, 1) == std::string::npos);

  // A valid file with its compressed body damaged: a bad block or a failed CRC.
  idx_images big;
  big.count = 50;
  big.rows = big.cols = 28;
  std::mt19937 gen{7};
  for (size_t i = 0; i < 50 * 28 * 28; ++i)
    big.pixels.push_back(static_cast<uint8_t>(gen() % 256));
  REQUIRE_FALSE(write_idx_images(path, big, true));
  auto bytes = read_bytes(path);
  REQUIRE(bytes.size() > 200);
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 16; ++i)
    bytes[i] ^= 0x5a;
  write_bytes(path, bytes);
  auto damaged = read_idx_images(path);
  REQUIRE_FALSE(damaged);
  CHECK(code_of(damaged.error()) == errc::bad_format);
}

TEST_CASE("idx: a gzip file cut short is size_mismatch", "[data]") {
  temp_dir dir;
  auto path = dir.file("img.gz");
  REQUIRE_FALSE(write_idx_images(path, sample_images(), true));
  auto bytes = read_bytes(path);
  bytes.resize(bytes.size() - 6); // lose most of the CRC/length trailer
  write_bytes(path, bytes);
  auto img = read_idx_images(path);
  REQUIRE_FALSE(img);
  CHECK(code_of(img.error()) == errc::size_mismatch);
  CHECK(mentions(img.error(), "truncated gzip"));
}

TEST_CASE("idx: trailing bytes after the data are size_mismatch", "[data]") {
  temp_dir dir;
  auto bytes = sample_image_bytes();
  bytes.insert(bytes.end(), {9, 9, 9});
  auto plain = dir.file("img");
  write_bytes(plain, bytes);
  auto gz = dir.file("img.gz");
  write_gzip_bytes(gz, bytes);
  for (const auto& path : {plain, gz}) {
    INFO(path);
    auto img = read_idx_images(path);
    REQUIRE_FALSE(img);
    CHECK(code_of(img.error()) == errc::size_mismatch);
    CHECK(mentions(img.error(), "end after 76 bytes, found 3 more"));
  }
  auto labels = dir.file("lab");
  auto lab_bytes = idx_header(idx_labels_magic, {2});
  lab_bytes.insert(lab_bytes.end(), {1, 2, 3});
  write_bytes(labels, lab_bytes);
  auto lab = read_idx_labels(labels);
  REQUIRE_FALSE(lab);
  CHECK(code_of(lab.error()) == errc::size_mismatch);
}

TEST_CASE("idx: writers refuse inconsistent or empty data", "[data]") {
  temp_dir dir;
  auto img = sample_images();
  img.pixels.pop_back();
  auto err = write_idx_images(dir.file("img"), img, false);
  CHECK(code_of(err) == errc::size_mismatch);
  img = sample_images();
  img.rows = 0;
  CHECK(code_of(write_idx_images(dir.file("img"), img, false)) == errc::invalid_argument);
  CHECK(code_of(write_idx_labels(dir.file("lab"), {}, true)) == errc::invalid_argument);
  auto no_dir = dir.file("missing/dir/img");
  auto io = write_idx_images(no_dir, sample_images(), false);
  CHECK(code_of(io) == errc::io_error);
  CHECK(mentions(io, no_dir));
}
