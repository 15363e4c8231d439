#include "apps/interrupt_watch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>

namespace herd::apps {

namespace {

// What the handler may touch: a lock-free counter and the pipe's write end.
std::atomic<int> received{0};
std::atomic<int> write_fd{-1};
struct sigaction previous_int, previous_term;

extern "C" void on_signal(int sig) {
  if (received.fetch_add(1) > 0) { // the second: abort now
    static const char line[] = "herd: aborted\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, line, sizeof line - 1);
    ::_exit(128 + sig);
  }
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
  write_fd = fds_[1];
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
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
