// herd ctl's command help, shared by the prompt's `help` and the one-shot `herd ctl help`.
#pragma once

#include <string>
#include <vector>

namespace herd::apps {

/// The commands with their arguments, one per line, as the prompt's `help` prints them.
const char* ctl_help_text();

/// Whether a command line asks for that help: "help" as the command, or "--help" / "-h" among
/// a command's words (`add-worker --help`). Answered without a node.
bool asks_for_help(const std::vector<std::string>& words);

} // namespace herd::apps
