// A file read or written through zlib's gz* API: gzip when the data starts with 1f 8b (or when
// asked to write gzip), plain bytes otherwise. Failures come back as herd errors naming the file.
// Internal to data/: the IDX reader and writers share it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "data/file_identity.hpp"
#include "messages/errc.hpp"

struct gzFile_s;  // zlib's handle; keeps zlib.h out of this header

namespace herd::data {

class gz_stream {
public:
  /// Opens `path` for reading; file_not_found when it does not exist, io_error when it cannot be
  /// read or is not a regular file (a FIFO, socket, device or directory is never opened).
  static expected<gz_stream> open_read(const std::string& path);

  /// Creates or truncates `path`; gzip-compressed when `gzip`, plain bytes otherwise.
  static expected<gz_stream> open_write(const std::string& path, bool gzip);

  gz_stream(gz_stream&& other) noexcept;
  gz_stream& operator=(gz_stream&& other) noexcept;
  gz_stream(const gz_stream&) = delete;
  gz_stream& operator=(const gz_stream&) = delete;
  ~gz_stream();

  /// Reads up to `n` bytes into `buf`; fewer only at the end of the data. `what` names the part
  /// being read ("header", "pixels") in error text. A corrupt gzip stream is bad_format, a gzip
  /// stream cut short is size_mismatch, a failed read is io_error.
  expected<size_t> read(uint8_t* buf, size_t n, const char* what);

  /// Counts the bytes left until the end of the data (reading them).
  expected<uint64_t> count_rest();

  /// Writes all `n` bytes; io_error on failure.
  caf::error write(const uint8_t* buf, size_t n);

  /// Flushes and closes; for writers this reports a failed final write. Idempotent.
  caf::error close();

  /// True when the data is gzip-compressed (valid after the first read).
  bool compressed() const;

  const std::string& path() const {
    return path_;
  }

  /// The file opened for reading, as it was when opened (empty for writers).
  const file_identity& identity() const {
    return identity_;
  }

private:
  gz_stream(gzFile_s* file, std::string path) : file_(file), path_(std::move(path)) {}

  gzFile_s* file_ = nullptr;
  std::string path_;
  uint64_t decompressed_ = 0;  // bytes read so far, for error text
  file_identity identity_;
};

} // namespace herd::data
