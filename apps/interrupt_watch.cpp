#include "apps/interrupt_watch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <ctime>

namespace herd::apps {

namespace {

// What the handler may touch: lock-free atomics and the pipe's write end.
std::atomic<int> received{0};
std::atomic<int> write_fd{-1};
// The first signal: its number, its sender (0: the terminal or the kernel) and when it came.
std::atomic<int> first_sig{0};
std::atomic<pid_t> first_pid{0};
std::atomic<int64_t> first_ns{0};
std::atomic<bool> first_ready{false};
struct sigaction previous_int, previous_term;

int64_t now_ns() {
  timespec t{};
  ::clock_gettime(CLOCK_MONOTONIC, &t); // async-signal-safe
  return int64_t(t.tv_sec) * 1000000000 + t.tv_nsec;
}

// GNU timeout sends its signal to the process and again to its process group: the same signal
// from the same sender twice within microseconds. That is one request, not "again to abort".
// (A terminal's Ctrl-C has no sending process, and is never taken for a repeat.)
bool repeats_first(int sig, pid_t from, int64_t at) {
  // The first may still be storing its details, in the handler on another thread.
  for (int i = 0; i < 1000000 && !first_ready.load(); ++i)
    continue;
  return from != 0 && sig == first_sig.load() && from == first_pid.load()
         && at - first_ns.load() < 20000000; // 20 ms
}

extern "C" void on_signal(int sig, siginfo_t* info, void*) {
  auto at = now_ns();
  pid_t from = info != nullptr && info->si_code == SI_USER ? info->si_pid : 0;
  if (received.fetch_add(1) > 0) {
    if (repeats_first(sig, from, at))
      return;
    static const char line[] = "herd: aborted\n"; // the second: abort now
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, line, sizeof line - 1);
    ::_exit(128 + sig);
  }
  first_sig = sig;
  first_pid = from;
  first_ns = at;
  first_ready = true;
  char c = static_cast<char>(sig);
  [[maybe_unused]] auto n = ::write(write_fd.load(), &c, 1);
}

} // namespace

interrupt_watch::interrupt_watch(std::function<void(int sig)> on_first)
    : on_first_(std::move(on_first)) {
  if (::pipe2(fds_, O_CLOEXEC) != 0) {
    std::perror("herd: pipe"); // signals keep their default action: they end the process
    return;
  }
  received = 0;
  first_ready = false;
  write_fd = fds_[1];
  struct sigaction sa{};
  sa.sa_sigaction = on_signal;
  sigemptyset(&sa.sa_mask); // one handler at a time on a thread: SIGINT and SIGTERM both
  sigaddset(&sa.sa_mask, SIGINT);
  sigaddset(&sa.sa_mask, SIGTERM);
  sa.sa_flags = SA_RESTART | SA_SIGINFO;
  ::sigaction(SIGINT, &sa, &previous_int);
  ::sigaction(SIGTERM, &sa, &previous_term);
  thread_ = std::thread{[this] { watch(); }};
}

interrupt_watch::~interrupt_watch() {
  if (fds_[0] < 0)
    return;
  ::sigaction(SIGINT, &previous_int, nullptr);
  ::sigaction(SIGTERM, &previous_term, nullptr);
  char stop = 0;
  [[maybe_unused]] auto n = ::write(fds_[1], &stop, 1);
  thread_.join();
  write_fd = -1;
  ::close(fds_[0]);
  ::close(fds_[1]);
}

void interrupt_watch::watch() {
  for (;;) {
    char c = 0;
    auto n = ::read(fds_[0], &c, 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0 || c == 0)
      return;
    signal_ = c;
    if (on_first_)
      on_first_(c);
  }
}

} // namespace herd::apps
