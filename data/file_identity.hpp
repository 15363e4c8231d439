// Which file a path named when it was read, so that a held data set can be told apart from the
// files now at its paths: a file rewritten in place keeps its inode but not its mtime, a file
// replaced (renamed over) gets another inode. Also the check that a data file is a regular file:
// opening a FIFO blocks until something writes to it, so a pipe named as a data file hung the
// reader for good.
#pragma once

#include <cstdint>
#include <string>

#include "messages/errc.hpp"

struct stat;

namespace herd::data {

struct file_identity {
  uint64_t device = 0, inode = 0, size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0; // ctime too: a copy that restored the mtime changes it
  bool operator==(const file_identity&) const = default;
};

/// The identity in a stat result.
file_identity identity_of(const struct stat& st);

/// Stats `path` (following links) without opening it. Errors: file_not_found; io_error for a
/// path that cannot be followed or for anything but a regular file (check_regular's text).
expected<file_identity> identify_file(const std::string& path);

/// io_error "<path>: not a regular file (a FIFO); expected an IDX file" unless `st` is a
/// regular file; an empty error otherwise.
caf::error check_regular(const std::string& path, const struct stat& st);

} // namespace herd::data
