// What the benchmarks print about the machine they ran on, for their JSON lines.
#pragma once

#include <sys/utsname.h>

#include <fstream>
#include <string>

namespace herd::bench {

/// `s` with quotes and backslashes escaped and control characters dropped.
inline std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20)
      out += c;
  }
  return out;
}

inline std::string host_name() {
  utsname u{};
  return uname(&u) == 0 ? u.nodename : "unknown";
}

/// The CPU model from /proc/cpuinfo ("unknown" when absent).
inline std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      auto pos = line.find(':');
      return pos == std::string::npos ? line : line.substr(pos + 2);
    }
  return "unknown";
}

} // namespace herd::bench
