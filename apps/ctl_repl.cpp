// herd ctl's interactive prompt, on libedit's readline interface.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include <editline/readline.h>

#include "apps/ctl_session.hpp"

namespace herd::apps {

namespace {

const char* const words_known[] = {"status",        "add-worker", "remove-worker",
                                   "set-consistency", "checkpoint", "stop",
                                   "help",          "quit",       "exit",
                                   "--node",        "--device",   "--staleness",
                                   "--json",        "bsp",        "ssp",
                                   "asp",           "cpu",        "cuda:0",     nullptr};

const char* help_text =
  "commands:\n"
  "  status [--json]                          nodes, shards and workers of the running job\n"
  "  add-worker --node NAME [--device cpu|cuda:N]  start a worker (pipeline: a replica); it\n"
  "                                           joins at the next clocks\n"
  "  remove-worker ID                         the worker (pipeline: its replica) finishes its\n"
  "                                           step, pushes, leaves\n"
  "  set-consistency bsp|ssp|asp [--staleness S]   switch the consistency model\n"
  "  checkpoint                               write a checkpoint now\n"
  "  stop                                     finish the job (final evaluation)\n"
  "  help, quit\n";

char* next_match(const char* text, int state) {
  static size_t index;
  static size_t length;
  if (state == 0) {
    index = 0;
    length = std::strlen(text);
  }
  while (words_known[index] != nullptr) {
    const char* w = words_known[index++];
    if (std::strncmp(w, text, length) == 0)
      return strdup(w);
  }
  return nullptr;
}

char** complete(const char* text, int, int) {
  return rl_completion_matches(text, next_match);
}

std::string history_path() {
  const char* home = std::getenv("HOME");
  return home ? std::string(home) + "/.herd_history" : std::string{};
}

} // namespace

std::vector<std::string> split_words(const std::string& line) {
  std::istringstream in{line};
  std::vector<std::string> out;
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

int ctl_session::repl() {
  rl_attempted_completion_function = complete;
  auto history = history_path();
  if (!history.empty())
    read_history(history.c_str());
  std::printf("herd ctl connected to %s; 'help' lists the commands, tab completes\n",
              address_.c_str());
  auto prompt = "herd " + address_ + "> ";
  while (char* raw = readline(prompt.c_str())) {
    std::string line{raw};
    std::free(raw);
    auto words = split_words(line);
    if (words.empty())
      continue;
    add_history(line.c_str());
    if (words[0] == "quit" || words[0] == "exit")
      break;
    if (words[0] == "help") {
      std::printf("%s", help_text);
      continue;
    }
    run(words, false); // takes "status --json" as the one-shot command does
  }
  if (!history.empty())
    write_history(history.c_str());
  std::printf("\n");
  return 0;
}

} // namespace herd::apps
