#include "data/gz_stream.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

namespace herd::data {

namespace {

// gzread/gzwrite take an unsigned int length; stay well below it.
constexpr size_t max_step = size_t{1} << 20;

// Buffer for zlib's own input/output: larger than the 8 KiB default for ~50 MB files.
constexpr unsigned io_buffer = 1u << 17;

std::string errno_text(int err) {
  return err != 0 ? std::strerror(err) : "unknown error";
}

// zlib's last error on `f`, without the "path: " zlib puts in front (our messages name it).
std::string gz_message(gzFile f, const std::string& path, int& err) {
  std::string msg = gzerror(f, &err);
  if (msg.starts_with(path + ": "))
    msg.erase(0, path.size() + 2);
  return msg;
}

} // namespace

expected<gz_stream> gz_stream::open_read(const std::string& path) {
  // Only regular files: a FIFO's open blocks until a writer comes (a daemon's loader waited for
  // good), a device may never end. Checked before opening, so nothing else is ever opened;
  // O_NONBLOCK and the fstat below cover a path swapped for a pipe between the two.
  auto named = identify_file(path);
  if (!named)
    return std::move(named.error());
  errno = 0;
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR)
      return make_error(errc::file_not_found, path + ": no such file");
    return make_error(errc::io_error, path + ": cannot open for reading: " + errno_text(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return make_error(errc::io_error, path + ": cannot open for reading: " + errno_text(err));
  }
  if (auto err = check_regular(path, st)) {
    ::close(fd);
    return err;
  }
  // Reads of a regular file do not block; zlib is handed an ordinary descriptor all the same.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  gzFile f = gzdopen(fd, "rb");
  if (f == nullptr) {
    ::close(fd); // gzdopen leaves it open when it fails
    return make_error(errc::io_error, path + ": cannot open for reading: out of memory");
  }
  gzbuffer(f, io_buffer);
  gz_stream out{f, path};
  out.identity_ = identity_of(st);
  return out;
}

expected<gz_stream> gz_stream::open_write(const std::string& path, bool gzip) {
  errno = 0;
  // "T" asks zlib for plain (transparent) output.
  gzFile f = gzopen(path.c_str(), gzip ? "wb6" : "wbT");
  if (f == nullptr)
    return make_error(errc::io_error, path + ": cannot create: " + errno_text(errno));
  gzbuffer(f, io_buffer);
  return gz_stream{f, path};
}

gz_stream::gz_stream(gz_stream&& other) noexcept
  : file_(std::exchange(other.file_, nullptr)),
    path_(std::move(other.path_)),
    decompressed_(other.decompressed_),
    identity_(other.identity_) {}

gz_stream& gz_stream::operator=(gz_stream&& other) noexcept {
  if (this != &other) {
    close();
    file_ = std::exchange(other.file_, nullptr);
    path_ = std::move(other.path_);
    decompressed_ = other.decompressed_;
    identity_ = other.identity_;
  }
  return *this;
}

gz_stream::~gz_stream() {
  close();
}

expected<size_t> gz_stream::read(uint8_t* buf, size_t n, const char* what) {
  size_t got = 0;
  while (got < n) {
    auto want = static_cast<unsigned>(std::min(n - got, max_step));
    errno = 0;
    int r = gzread(file_, buf + got, want);
    if (r > 0) {
      got += static_cast<size_t>(r);
      decompressed_ += static_cast<uint64_t>(r);
      continue;
    }
    int err = Z_OK;
    auto msg = gz_message(file_, path_, err);
    auto at = " while reading " + std::string{what} + " (after "
              + std::to_string(decompressed_) + " decompressed bytes)";
    switch (err) {
      case Z_OK:
        return got; // end of data
      case Z_BUF_ERROR:
        return make_error(errc::size_mismatch,
                          path_ + ": truncated gzip stream: unexpected end of file" + at);
      case Z_DATA_ERROR:
        return make_error(errc::bad_format, path_ + ": corrupt gzip data: " + msg + at);
      case Z_ERRNO:
        return make_error(errc::io_error, path_ + ": read failed: " + errno_text(errno) + at);
      default:
        return make_error(errc::io_error, path_ + ": read failed: " + msg + at);
    }
  }
  return got;
}

expected<uint64_t> gz_stream::count_rest() {
  uint8_t buf[1 << 14];
  uint64_t total = 0;
  for (;;) {
    auto r = read(buf, sizeof(buf), "the end of the file");
    if (!r)
      return std::move(r.error());
    total += *r;
    if (*r < sizeof(buf))
      return total;
  }
}

caf::error gz_stream::write(const uint8_t* buf, size_t n) {
  size_t put = 0;
  while (put < n) {
    auto step = static_cast<unsigned>(std::min(n - put, max_step));
    errno = 0;
    if (gzwrite(file_, buf + put, step) != static_cast<int>(step)) {
      int err = Z_OK;
      auto msg = gz_message(file_, path_, err);
      return make_error(errc::io_error, path_ + ": write failed: "
                                          + (err == Z_ERRNO ? errno_text(errno) : msg));
    }
    put += step;
  }
  return {};
}

caf::error gz_stream::close() {
  if (file_ == nullptr)
    return {};
  errno = 0;
  int rc = gzclose(std::exchange(file_, nullptr));
  if (rc == Z_OK)
    return {};
  if (rc == Z_ERRNO)
    return make_error(errc::io_error, path_ + ": close failed: " + errno_text(errno));
  if (rc == Z_BUF_ERROR)  // reading a gzip stream that ended early; read() reported it already
    return {};
  return make_error(errc::io_error, path_ + ": close failed (zlib code " + std::to_string(rc) + ")");
}

bool gz_stream::compressed() const {
  return file_ != nullptr && gzdirect(file_) == 0;
}

} // namespace herd::data
