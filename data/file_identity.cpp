#include "data/file_identity.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace herd::data {

namespace {

int64_t nanoseconds(const struct timespec& t) {
  return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

const char* kind_of(mode_t mode) {
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISSOCK(mode))
    return "a socket";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISDIR(mode))
    return "a directory";
  return "another kind of file";
}

} // namespace

file_identity identity_of(const struct stat& st) {
  file_identity id;
  id.device = st.st_dev;
  id.inode = st.st_ino;
  id.size = static_cast<uint64_t>(st.st_size);
  id.mtime_ns = nanoseconds(st.st_mtim);
  id.ctime_ns = nanoseconds(st.st_ctim);
  return id;
}

caf::error check_regular(const std::string& path, const struct stat& st) {
  if (S_ISREG(st.st_mode))
    return {};
  return make_error(errc::io_error, path + ": not a regular file (" + kind_of(st.st_mode)
                                      + "); expected an IDX file");
}

expected<file_identity> identify_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR)
      return make_error(errc::file_not_found, path + ": no such file");
    return make_error(errc::io_error,
                      path + ": cannot open for reading: " + std::strerror(err));
  }
  if (auto err = check_regular(path, st))
    return err;
  return identity_of(st);
}

} // namespace herd::data
