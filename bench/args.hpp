// The benchmarks' command lines, one convention for all: --help (or -h) prints the usage on
// stdout and exits 0; a bad or unknown argument prints one "<bench>: ..." line and the usage on
// stderr and exits 2. Numbers are whole arguments: "5x", "-5" and "" are refused, not read as 0.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

namespace herd::bench {

struct command_line {
  const char* name;  // "compress_bench"
  const char* usage; // "usage: compress_bench [REPS [SIZE...]]\n...", ending in '\n'

  /// Prints the usage on stdout; the exit code 0.
  int help() const {
    std::fputs(usage, stdout);
    return 0;
  }

  /// Prints "<name>: <what>" and the usage on stderr; the exit code 2.
  int bad(const std::string& what) const {
    std::fprintf(stderr, "%s: %s\n%s", name, what.c_str(), usage);
    return 2;
  }
};

/// Whether any argument asks for the usage.
inline bool wants_help(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0)
      return true;
  return false;
}

/// `text` as a whole number from 1 to `max`; nullopt when any of it is not one.
inline std::optional<long long> positive_number(const char* text, long long max) {
  if (*text < '0' || *text > '9')
    return std::nullopt; // no sign, no leading space
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text, &end, 10);
  if (*end != '\0' || errno != 0 || v < 1 || v > max)
    return std::nullopt;
  return v;
}

/// Why `text` is refused where `what` (a number) was expected: "unknown option "--x"" for an
/// option, else "WHAT: expected a whole number from 1 to MAX, got "TEXT"".
inline std::string not_positive(const std::string& what, const char* text, long long max) {
  if (std::strncmp(text, "--", 2) == 0)
    return std::string{"unknown option \""} + text + "\"";
  return what + ": expected a whole number from 1 to " + std::to_string(max) + ", got \"" + text
         + "\"";
}

} // namespace herd::bench
