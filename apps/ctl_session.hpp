// A connection from `herd ctl` to one node daemon: single commands and the interactive prompt.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include "apps/ctl_format.hpp"

namespace herd::apps {

struct ctl_reply {
  std::string text;
  caf::error error;
};

/// Every request goes through a small relay actor (`link_`) that monitors the node: when the
/// connection is lost, pending and later requests fail at once with "node HOST:PORT is gone"
/// (a request to a lost CAF proxy is dropped silently and only timed out after 30 s). The next
/// command after a loss tries the same address once more before it gives up.
class ctl_session {
public:
  ctl_session(caf::actor_system& sys, caf::actor node, std::string host, uint16_t port,
              bool tls);
  ~ctl_session();
  ctl_session(const ctl_session&) = delete;
  ctl_session& operator=(const ctl_session&) = delete;

  /// Sends one command; "status" falls back to the node's own status when no job runs.
  ctl_reply send(const std::vector<std::string>& words);
  /// Checks the command here (check_command), sends it and prints the answer
  /// (status as a table unless `json` or "--json" follows it); the exit code.
  int run(const std::vector<std::string>& words, bool json);
  /// The prompt: line editing, history (~/.herd_history), tab completion, help; Ctrl-C
  /// abandons the line. Ends on "quit", "exit" or end of input; returns 0.
  int repl();

  const std::string& address() const { return address_; }
  /// Node names and worker ids for tab completion, from a status asked with a short timeout;
  /// none once the node is lost (no reconnection in the middle of a line).
  status_names names();

private:
  void start_link(caf::actor node);
  caf::error reconnect(); // after a loss: one more try at host_:port_

  caf::actor_system& sys_;
  std::string host_;
  uint16_t port_;
  bool tls_;
  std::string address_; // for the prompt and messages
  caf::actor link_;
  std::shared_ptr<std::atomic<bool>> lost_; // set by the link when the node is down
};

/// Checks a command before it is sent, so that the answer does not depend on whether a job
/// runs: its name, its arguments and options, and "status [--json]" (the flag is removed from
/// `words` and sets `json`). The problem as one line; empty when there is none.
std::string check_command(std::vector<std::string>& words, bool& json);

/// The prompt's completions for the word after the complete words `before`: command names
/// first, then only that command's options and values (node names and worker ids from
/// `names`). Not filtered by what the word already holds.
std::vector<std::string> ctl_completions(const std::vector<std::string>& before,
                                         const status_names& names);

/// The words of a command line (split at blanks; no quoting).
std::vector<std::string> split_words(const std::string& line);

} // namespace herd::apps
