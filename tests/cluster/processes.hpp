// Real processes for the cluster tests: herd daemons and jobs started with fork/exec, their
// output in files, killed (SIGKILL) when the test is done with them; free loopback ports.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef HERD_BINARY
#error "HERD_BINARY must name the herd executable"
#endif

namespace herd::test {

/// A port the OS just handed out on 127.0.0.1 (free now; a daemon binds it right after).
inline uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline std::string file_text(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// `herd ARGS...` as a child process, stdout and stderr into `log`. SIGKILLed when destroyed.
class herd_process {
public:
  herd_process(const std::vector<std::string>& args, std::string log) : log_(std::move(log)) {
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      int null = ::open("/dev/null", O_RDONLY);
      ::dup2(null, 0);
      std::vector<char*> argv;
      std::string bin = HERD_BINARY;
      argv.push_back(bin.data());
      std::vector<std::string> copy = args;
      for (auto& a : copy)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(bin.c_str(), argv.data());
      ::_exit(127);
    }
  }
  herd_process(const herd_process&) = delete;
  herd_process& operator=(const herd_process&) = delete;
  ~herd_process() { kill(); }

  pid_t pid() const { return pid_; }
  std::string output() const { return file_text(log_); }

  /// Waits until the output contains `text` (true) or `timeout` passes or the process ended.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (output().find(text) != std::string::npos)
        return true;
      if (exited())
        return output().find(text) != std::string::npos;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  /// Exit status once ended within `timeout`; -1 when still running then.
  int wait(std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (!exited() && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return exited() ? status_ : -1;
  }

  void kill(int sig = SIGKILL) {
    if (pid_ > 0 && !exited()) {
      ::kill(pid_, sig);
      int st = 0;
      if (sig == SIGKILL && ::waitpid(pid_, &st, 0) == pid_)
        done_ = true;
    }
  }

private:
  bool exited() {
    if (done_)
      return true;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      done_ = true;
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    return done_;
  }

  std::string log_;
  pid_t pid_ = -1;
  bool done_ = false;
  int status_ = -1;
};

} // namespace herd::test
