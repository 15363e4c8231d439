#include "actors/checkpoint_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "actors/checkpoint_store.hpp"

namespace herd::actors {

namespace {

namespace fs = std::filesystem;

constexpr const char* lock_name = ".herd.lock"; // short: the directory's path may be near PATH_MAX

struct held_dir {
  std::string key;  // the directory, absolute and normal
  std::string lock; // its lock file
  int fd = -1;
  std::vector<fs::path> created; // directories made for it, deepest first
};

// The directories jobs of this process hold, by job. A job's supervisor answers before it ends
// (and lets go): the next job of the same process into the same directory waits that long.
struct registry {
  std::mutex mx;
  std::condition_variable released;
  std::map<uint64_t, held_dir> by_owner;

  bool held(const std::string& key) {
    for (auto& [owner, h] : by_owner)
      if (h.key == key)
        return true;
    return false;
  }
};

registry& jobs() {
  static registry r;
  return r;
}

// Unlinked while still locked (a run that opened the old file finds it gone and tries again),
// then closed; directories made for it go when empty.
void let_go(held_dir& h) {
  ::unlink(h.lock.c_str());
  ::close(h.fd);
  h.fd = -1;
  for (const auto& d : h.created) {
    std::error_code ec;
    fs::remove(d, ec); // only an empty one
  }
}

caf::error refuse(const std::string& why) {
  return make_error(errc::config_invalid, why);
}

// Locks `h.lock`, creating it; retried when the file was replaced between open and flock.
caf::error lock(held_dir& h, const std::string& dir) {
  for (int tries = 0; tries < 10; ++tries) {
    int fd = ::open(h.lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      int err = errno;
      return make_error(errc::io_error,
                        "cannot create " + h.lock + ": " + std::strerror(err));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK)
        return refuse("checkpoint directory " + dir + " is in use by another herd run");
      return make_error(errc::io_error, "cannot lock " + h.lock + ": " + std::strerror(err));
    }
    struct stat opened {}, named {};
    if (::fstat(fd, &opened) == 0 && ::stat(h.lock.c_str(), &named) == 0
        && opened.st_ino == named.st_ino && opened.st_dev == named.st_dev) {
      h.fd = fd;
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

caf::error hold_checkpoint_dir(uint64_t owner, const std::string& dir,
                               const std::string& resumed_from) {
  auto& r = jobs();
  std::unique_lock guard{r.mx};
  if (r.by_owner.count(owner) > 0)
    return {};
  std::error_code ec;
  held_dir h;
  h.key = fs::absolute(dir, ec).lexically_normal().string();
  if (ec)
    return make_error(errc::io_error, "checkpoint directory " + dir + ": " + ec.message());
  r.released.wait_for(guard, std::chrono::seconds(3), [&] { return !r.held(h.key); });
  if (r.held(h.key))
    return refuse("checkpoint directory " + dir + " is in use by another herd job");
  for (fs::path p = h.key; !p.empty() && !fs::exists(p, ec) && p.has_relative_path();
       p = p.parent_path())
    h.created.push_back(p);
  fs::create_directories(h.key, ec);
  if (ec) {
    auto why = ec.message();
    for (const auto& d : h.created)
      fs::remove(d, ec);
    return make_error(errc::io_error, "cannot create " + dir + ": " + why);
  }
  h.lock = (fs::path(h.key) / lock_name).string();
  if (auto err = lock(h, dir)) {
    for (const auto& d : h.created)
      fs::remove(d, ec);
    return err;
  }
  // Under the lock: no other run writes here now, so what lies here is of an earlier one.
  auto earlier = checkpoints_in(h.key);
  if (!earlier.empty() && !same_dir(resumed_from, h.key)) {
    let_go(h);
    return refuse("checkpoint directory " + dir + " holds checkpoints of an earlier run (the "
                  "newest at clock " + std::to_string(earlier.back().first) + "): continue "
                  "them with --resume " + dir + ", remove them, or set /checkpoint/dir to "
                  "another directory");
  }
  for (const auto& e : fs::directory_iterator(h.key, ec))
    if (is_checkpoint_name(e.path().filename().string(), nullptr, true))
      fs::remove_all(e.path(), ec); // a write that failed without removing it (a crash)
  r.by_owner.emplace(owner, std::move(h));
  return {};
}

bool holds_checkpoint_dir(uint64_t owner) {
  auto& r = jobs();
  std::lock_guard guard{r.mx};
  return r.by_owner.count(owner) > 0;
}

void release_checkpoint_dir(uint64_t owner) {
  auto& r = jobs();
  {
    std::lock_guard guard{r.mx};
    auto it = r.by_owner.find(owner);
    if (it == r.by_owner.end())
      return;
    let_go(it->second);
    r.by_owner.erase(it);
  }
  r.released.notify_all();
}

} // namespace herd::actors
