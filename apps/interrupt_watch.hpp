// SIGINT and SIGTERM for the commands that run jobs: the first asks for a graceful end (a
// callback on a thread of its own), a second ends the process at once with 128 + signal. The same
// signal sent again by the same process within 20 ms counts as the first (GNU timeout signals
// both the process and its process group).
#pragma once

#include <atomic>
#include <functional>
#include <thread>

namespace herd::apps {

/// Installs the handlers from construction to destruction (the earlier ones come back then).
/// One at a time per process: the handler reaches it through a file-local pointer, as a signal
/// handler must.
class interrupt_watch {
public:
  /// `on_first(sig)` runs on the watcher thread, not in the handler: it may print and send
  /// messages.
  explicit interrupt_watch(std::function<void(int sig)> on_first);
  ~interrupt_watch();
  interrupt_watch(const interrupt_watch&) = delete;
  interrupt_watch& operator=(const interrupt_watch&) = delete;

  /// The first signal received; 0 while none came.
  int signal() const { return signal_.load(); }

private:
  void watch();

  std::function<void(int)> on_first_;
  std::atomic<int> signal_{0};
  int fds_[2] = {-1, -1}; // the self-pipe: the handler writes the signal number, 0 ends watch()
  std::thread thread_;
};

} // namespace herd::apps
