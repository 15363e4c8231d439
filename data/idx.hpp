// IDX files (the MNIST / Fashion-MNIST format): a big-endian header, then unsigned bytes.
//
//   images: magic 0x00000803, count, rows, cols, then count*rows*cols pixels (row-major)
//   labels: magic 0x00000801, count, then count labels
//
// Files may be gzip-compressed (recognised by the 1f 8b magic) or plain. Readers check the magic,
// the dimension count, that no dimension is zero, that the payload is at most max_idx_bytes, that
// the data is complete and that nothing follows it. Errors name the file and say what was
// expected and what was found.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/file_identity.hpp"
#include "messages/errc.hpp"

namespace herd::data {

/// Largest payload a reader accepts (2 GiB); guards against absurd or overflowing headers.
constexpr uint64_t max_idx_bytes = uint64_t{1} << 31;

constexpr uint32_t idx_images_magic = 0x00000803;
constexpr uint32_t idx_labels_magic = 0x00000801;

struct idx_images {
  uint32_t count = 0, rows = 0, cols = 0; // count: the file's, whatever was read
  std::vector<uint8_t> pixels; // the images read (rows*cols each), image-major then row-major
  file_identity source;        // the file read, as it was when opened
};

/// Reads an IDX image file (gzip or plain); `limit` > 0 reads only the first `limit` images
/// (nothing after them is read, so neither allocated nor checked).
/// Errors: file_not_found, io_error (also for anything but a regular file: a FIFO is never
/// opened), bad_format (magic, dimension count, zero or absurd dims, corrupt gzip),
/// size_mismatch (truncated header or data, trailing bytes).
expected<idx_images> read_idx_images(const std::string& path, size_t limit = 0);

/// Reads an IDX label file (gzip or plain), the first `limit` labels when `limit` > 0; the
/// file's count goes to `*count` and the file read to `*source` when given. Errors as for
/// read_idx_images.
expected<std::vector<uint8_t>> read_idx_labels(const std::string& path, size_t limit = 0,
                                               uint32_t* count = nullptr,
                                               file_identity* source = nullptr);

/// Writes `images` to `path`, gzip-compressed when `gzip`. Returns an empty error on success;
/// size_mismatch when pixels.size() != count*rows*cols, invalid_argument for a zero dimension,
/// io_error when the file cannot be written.
caf::error write_idx_images(const std::string& path, const idx_images& images, bool gzip);

/// Writes `labels` to `path`, gzip-compressed when `gzip`. Empty error on success; invalid_argument
/// when `labels` is empty or too long for an IDX count, io_error on write failure.
caf::error write_idx_labels(const std::string& path, const std::vector<uint8_t>& labels,
                            bool gzip);

} // namespace herd::data
