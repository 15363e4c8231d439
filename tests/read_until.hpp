// Reading a pseudo-terminal (or any fd) until some text has appeared: the prompt tests of
// herd ctl in tests/apps and tests/cluster.
#pragma once

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace herd::test {

/// Reads from `fd` into `seen` until `want` appears in it (true) or `timeout` passes.
inline bool read_until(int fd, const std::string& want, std::string& seen,
                       std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (seen.find(want) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      end - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      continue;
    char buf[4096];
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
      return false;
    seen.append(buf, static_cast<size_t>(n));
  }
  return true;
}

} // namespace herd::test
