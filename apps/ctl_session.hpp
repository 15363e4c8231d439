// A connection from `herd ctl` to one node daemon: single commands and the interactive prompt.
#pragma once

#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>

namespace herd::apps {

struct ctl_reply {
  std::string text;
  caf::error error;
};

struct ctl_session {
  caf::actor_system& sys;
  caf::actor node;
  std::string address; // for the prompt and messages

  /// Sends one command; "status" falls back to the node's own status when no job runs.
  ctl_reply send(const std::vector<std::string>& words);
  /// Checks the command here (check_command), sends it and prints the answer
  /// (status as a table unless `json` or "--json" follows it); the exit code.
  int run(const std::vector<std::string>& words, bool json);
  /// The prompt: line editing, history (~/.herd_history), tab completion, help. Ends on
  /// "quit", "exit" or end of input; returns 0.
  int repl();
};

/// Checks a command before it is sent, so that the answer does not depend on whether a job
/// runs: its name, its arguments and options, and "status [--json]" (the flag is removed from
/// `words` and sets `json`). The problem as one line; empty when there is none.
std::string check_command(std::vector<std::string>& words, bool& json);

/// The words of a command line (split at blanks; no quoting).
std::vector<std::string> split_words(const std::string& line);

} // namespace herd::apps
