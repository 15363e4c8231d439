#include "actors/checkpoint_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "actors/checkpoint_store.hpp"

namespace herd::actors {

namespace {

namespace fs = std::filesystem;

constexpr const char* lock_name = ".herd.lock"; // short: the directory's path may be near PATH_MAX

void remove_made(const std::vector<std::string>& made) {
  for (const auto& d : made) {
    std::error_code ec;
    fs::remove(d, ec); // only an empty one
  }
}

caf::error refuse(const std::string& why) {
  return make_error(errc::config_invalid, why);
}

// Locks `file` (into `out`), creating it; retried when the file was replaced between open and flock.
caf::error lock(const std::string& file, int& out, const std::string& dir) {
  for (int tries = 0; tries < 10; ++tries) {
    int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      int err = errno;
      return make_error(errc::io_error,
                        "cannot create " + file + ": " + std::strerror(err));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK)
        return refuse("checkpoint directory " + dir + " is in use by another herd run");
      return make_error(errc::io_error, "cannot lock " + file + ": " + std::strerror(err));
    }
    struct stat opened {}, named {};
    if (::fstat(fd, &opened) == 0 && ::stat(file.c_str(), &named) == 0
        && opened.st_ino == named.st_ino && opened.st_dev == named.st_dev) {
      out = fd;
      return {};
    }
    ::close(fd); // its holder let go and unlinked it meanwhile
  }
  return refuse("checkpoint directory " + dir + " is in use by another herd run");
}

bool same_dir(const std::string& a, const std::string& b) {
  std::error_code ec;
  return !a.empty() && fs::equivalent(a, b, ec) && !ec;
}

} // namespace

// Unlinked while still locked (a run that opened the old file finds it gone and tries again),
// then closed; directories made for it go when empty.
void checkpoint_dir_lock::release() {
  if (fd_ < 0)
    return;
  ::unlink(lock_.c_str());
  ::close(fd_);
  fd_ = -1;
  remove_made(created_);
  created_.clear();
}

caf::error hold_checkpoint_dir(checkpoint_dir_lock& held, const std::string& dir,
                               const std::string& resumed_from) {
  if (held.held())
    return {};
  std::error_code ec;
  auto key = fs::absolute(dir, ec).lexically_normal().string();
  if (ec)
    return make_error(errc::io_error, "checkpoint directory " + dir + ": " + ec.message());
  std::vector<std::string> created;
  for (fs::path p = key; !p.empty() && !fs::exists(p, ec) && p.has_relative_path();
       p = p.parent_path())
    created.push_back(p.string());
  fs::create_directories(key, ec);
  if (ec) {
    auto why = ec.message();
    remove_made(created);
    return make_error(errc::io_error, "cannot create " + dir + ": " + why);
  }
  checkpoint_dir_lock h;
  h.lock_ = (fs::path(key) / lock_name).string();
  h.created_ = std::move(created);
  if (auto err = lock(h.lock_, h.fd_, dir)) {
    remove_made(h.created_);
    return err;
  }
  // Under the lock: no other run writes here now, so what lies here is of an earlier one.
  auto earlier = checkpoints_in(key);
  if (!earlier.empty() && !same_dir(resumed_from, key))
    return refuse("checkpoint directory " + dir + " holds checkpoints of an earlier run (the "
                  "newest at clock " + std::to_string(earlier.back().first) + "): continue "
                  "them with --resume " + dir + ", remove them, or set /checkpoint/dir to "
                  "another directory"); // h lets go
  for (const auto& e : fs::directory_iterator(key, ec))
    if (is_checkpoint_name(e.path().filename().string(), nullptr, true))
      fs::remove_all(e.path(), ec); // a write that failed without removing it (a crash)
  std::swap(held.lock_, h.lock_);
  std::swap(held.fd_, h.fd_);
  std::swap(held.created_, h.created_);
  return {};
}

} // namespace herd::actors
