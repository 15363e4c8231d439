// Running the herd binary from tests: a temporary directory per test, and one run of the binary
// under `timeout` with its exit code, stdout and stderr captured.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/temp_dir.hpp"

#ifndef HERD_BINARY
#error "HERD_BINARY must name the herd executable"
#endif
#ifndef HERD_EXAMPLES_DIR
#error "HERD_EXAMPLES_DIR must name the examples directory"
#endif

namespace herd::apps::test {

/// Seconds a single run may take before `timeout` ends it (exit code 124).
constexpr int run_timeout_s = 120;

/// Exit codes of the herd binary (apps/commands.hpp), repeated so that a change there is noticed.
constexpr int exit_ok = 0;
constexpr int exit_bad_input = 2;
constexpr int exit_timed_out = 124; // from `timeout`

using herd::test::temp_dir;

inline std::string read_text(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << text;
}

/// The lines of `text`, without their '\n'; a trailing newline does not add an empty line.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

struct cli_result {
  int code = -1; // exit status, or 128 + signal when the process was killed
  std::string out;
  std::string err;

  std::vector<std::string> err_lines() const {
    return lines_of(err);
  }
};

/// A shell word: `s` in single quotes, embedded quotes escaped.
inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

/// Runs `herd ARGS...` under `timeout`, stdout and stderr going to files in `scratch`.
inline cli_result run_herd(const std::vector<std::string>& args, const temp_dir& scratch) {
  const auto out_path = scratch.file("herd.stdout");
  const auto err_path = scratch.file("herd.stderr");
  std::string cmd = "timeout " + std::to_string(run_timeout_s) + " " + shell_quote(HERD_BINARY);
  for (const auto& a : args)
    cmd.append(" ").append(shell_quote(a));
  cmd.append(" </dev/null >").append(shell_quote(out_path));
  cmd.append(" 2>").append(shell_quote(err_path));
  const int status = std::system(cmd.c_str());
  cli_result r;
  if (status == -1)
    r.code = -1;
  else if (WIFEXITED(status))
    r.code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    r.code = 128 + WTERMSIG(status);
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  std::filesystem::remove(out_path);
  std::filesystem::remove(err_path);
  return r;
}

/// Path of a file in examples/.
inline std::string example(const std::string& name) {
  return (std::filesystem::path(HERD_EXAMPLES_DIR) / name).string();
}

} // namespace herd::apps::test
