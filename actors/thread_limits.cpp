#include "actors/thread_limits.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <sys/resource.h>
#include <unistd.h>

namespace herd::actors {

namespace {

namespace fs = std::filesystem;

std::atomic<bool> start_failed{false};

std::optional<long long> read_number(const std::string& path) {
  std::ifstream in{path};
  long long v = 0;
  if (in >> v)
    return v;
  return std::nullopt;
}

// The tasks (threads) running on the system: /proc/loadavg's fourth field is "running/total".
std::optional<long long> tasks_running() {
  std::ifstream in{"/proc/loadavg"};
  std::string a, b, c, runs;
  if (!(in >> a >> b >> c >> runs))
    return std::nullopt;
  auto slash = runs.find('/');
  if (slash == std::string::npos)
    return std::nullopt;
  try {
    return std::stoll(runs.substr(slash + 1));
  } catch (...) {
    return std::nullopt;
  }
}

long long count_lines(const std::string& path) {
  std::ifstream in{path};
  long long n = 0;
  for (std::string line; std::getline(in, line);)
    ++n;
  return n;
}

// The value after `key` in a /proc/PID/status file, or -1.
long long status_field(const fs::path& status, const std::string& key) {
  std::ifstream in{status};
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) {
      std::istringstream s{line.substr(key.size())};
      long long v = -1;
      s >> v;
      return v;
    }
  return -1;
}

// Threads of every process whose real user is `uid` (what ulimit -u counts).
long long user_tasks(uid_t uid) {
  long long n = 0;
  std::error_code ec;
  for (fs::directory_iterator it{"/proc", ec}, end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0])))
      continue;
    auto status = it->path() / "status";
    if (status_field(status, "Uid:") == (long long) uid)
      n += std::max(0LL, status_field(status, "Threads:"));
  }
  return n;
}

// The pids controller's directory of this process's cgroup (v2 or v1), or "".
std::string pids_cgroup() {
  std::ifstream in{"/proc/self/cgroup"};
  for (std::string line; std::getline(in, line);) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos)
      continue;
    auto controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    std::string dir;
    if (controllers.empty())
      dir = "/sys/fs/cgroup" + path; // v2
    else if (("," + controllers + ",").find(",pids,") != std::string::npos)
      dir = "/sys/fs/cgroup/pids" + path; // v1
    if (!dir.empty() && fs::exists(dir + "/pids.max"))
      return dir;
  }
  return "";
}

struct tightest {
  thread_headroom_info best{static_cast<size_t>(-1), "none found"};
  void offer(long long more, const std::string& limit) {
    auto m = static_cast<size_t>(std::max(0LL, more));
    if (m < best.more)
      best = {m, limit};
  }
};

} // namespace

thread_headroom_info thread_headroom() {
  tightest t;
  auto tasks = tasks_running();
  auto running = tasks ? " with " + std::to_string(*tasks) + " tasks running" : std::string{};
  if (auto pid_max = read_number("/proc/sys/kernel/pid_max"); pid_max && tasks)
    t.offer(*pid_max - *tasks, "kernel.pid_max " + std::to_string(*pid_max) + running);
  if (auto max = read_number("/proc/sys/kernel/threads-max"); max && tasks)
    t.offer(*max - *tasks, "kernel.threads-max " + std::to_string(*max) + running);
  if (auto maps = read_number("/proc/sys/vm/max_map_count"))
    t.offer((*maps - count_lines("/proc/self/maps")) / 2,
            "vm.max_map_count " + std::to_string(*maps) + " (two memory maps a thread)");
  if (auto dir = pids_cgroup(); !dir.empty()) {
    auto max = read_number(dir + "/pids.max"), now = read_number(dir + "/pids.current");
    if (max && now) // "max" reads as no number: no limit
      t.offer(*max - *now, "the cgroup's pids.max " + std::to_string(*max));
  }
  rlimit nproc{};
  if (::getuid() != 0 && ::getrlimit(RLIMIT_NPROC, &nproc) == 0
      && nproc.rlim_cur != RLIM_INFINITY)
    t.offer((long long) nproc.rlim_cur - user_tasks(::getuid()),
            "ulimit -u " + std::to_string((unsigned long long) nproc.rlim_cur));
  return t.best;
}

uint64_t worker_threads(const config::job_config& cfg, const std::string& node) {
  uint64_t workers = 0;
  for (const auto& w : cfg.workers)
    workers += node.empty() || w.node == node;
  auto ranks = uint64_t(std::max(1, cfg.parallelism.tensor_parallel));
  return workers * (ranks > 1 ? ranks + 1 : 1);
}

void note_thread_start_failure() {
  start_failed = true;
}

bool thread_start_failed() {
  return start_failed;
}

std::string thread_start_error(const std::string& reason) {
  return "no new thread could be started (" + reason
         + "): this system's limit on threads is reached (" + thread_headroom().limit
         + "); run fewer workers here or raise that limit";
}

} // namespace herd::actors
