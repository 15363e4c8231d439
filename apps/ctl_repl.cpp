// herd ctl's interactive prompt, on libedit's readline interface. libedit's callbacks take no
// context, so the completion and the Ctrl-C handling keep theirs in this file's statics, set
// by repl() for its duration.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include <editline/readline.h>

#include "apps/ctl_repl.hpp"
#include "apps/ctl_session.hpp"

namespace herd::apps {

namespace {

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
  "  help, quit, exit                         Ctrl-C abandons the line, Ctrl-D quits\n";

ctl_session* completing = nullptr;   // the session whose prompt is open
std::vector<std::string> candidates; // for the word being completed
int interrupt_pipe[2] = {-1, -1};    // SIGINT -> read_key
volatile sig_atomic_t interrupted = 0;

char* next_match(const char* text, int state) {
  static size_t index;
  static size_t length;
  if (state == 0) {
    index = 0;
    length = std::strlen(text);
  }
  while (index < candidates.size()) {
    const auto& w = candidates[index++];
    if (w.compare(0, length, text) == 0)
      return strdup(w.c_str());
  }
  return nullptr;
}

bool needs_names(const std::vector<std::string>& before) {
  return (before.size() == 1 && before[0] == "remove-worker")
         || (before.size() > 1 && before[0] == "add-worker" && before.back() == "--node");
}

char** complete(const char* text, int start, int) {
  rl_attempted_completion_over = 1; // never file names
  auto before = split_words(std::string(rl_line_buffer, static_cast<size_t>(start)));
  candidates = ctl_completions(before, completing != nullptr && needs_names(before)
                                         ? completing->names()
                                         : status_names{});
  return rl_completion_matches(text, next_match);
}

void on_sigint(int) {
  char c = 0;
  [[maybe_unused]] auto n = ::write(interrupt_pipe[1], &c, 1);
}

// One key for libedit. Ctrl-C (SIGINT, the terminal keeps ISIG) ends the line as Enter would,
// and repl() drops that line.
int read_key(FILE* in) {
  for (;;) {
    pollfd p[2] = {{fileno(in), POLLIN, 0}, {interrupt_pipe[0], POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      return EOF;
    }
    if (p[1].revents & POLLIN) {
      char buf[16];
      while (::read(interrupt_pipe[0], buf, sizeof buf) > 0) {
      }
      interrupted = 1;
      return '\n';
    }
    unsigned char c = 0;
    auto n = ::read(fileno(in), &c, 1);
    if (n == 1)
      return c;
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    return EOF;
  }
}

/// readline() with SIGINT caught only while it waits: a command that hangs can still be
/// interrupted the usual way. Empty when the line was abandoned with Ctrl-C.
char* read_line(const std::string& prompt) {
  char buf[16];
  while (::read(interrupt_pipe[0], buf, sizeof buf) > 0) { // a Ctrl-C typed meanwhile
  }
  interrupted = 0;
  struct sigaction on{}, before{};
  on.sa_handler = on_sigint;
  sigemptyset(&on.sa_mask);
  ::sigaction(SIGINT, &on, &before);
  char* raw = readline(prompt.c_str());
  ::sigaction(SIGINT, &before, nullptr);
  if (raw != nullptr && interrupted)
    raw[0] = '\0';
  return raw;
}

std::string history_path() {
  const char* home = std::getenv("HOME");
  return home ? std::string(home) + "/.herd_history" : std::string{};
}

} // namespace

const char* ctl_help_text() {
  return help_text;
}

bool asks_for_help(const std::vector<std::string>& words) {
  if (!words.empty() && words[0] == "help")
    return true;
  return std::any_of(words.begin(), words.end(),
                     [](const std::string& w) { return w == "--help" || w == "-h"; });
}

std::vector<std::string> split_words(const std::string& line) {
  std::istringstream in{line};
  std::vector<std::string> out;
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

std::vector<std::string> ctl_completions(const std::vector<std::string>& before,
                                         const status_names& names) {
  if (before.empty())
    return {"status", "add-worker",  "remove-worker", "set-consistency", "checkpoint",
            "stop",   "help",        "quit",          "exit"};
  const auto& cmd = before[0];
  auto n = before.size();
  if (cmd == "status")
    return n == 1 ? std::vector<std::string>{"--json"} : std::vector<std::string>{};
  if (cmd == "remove-worker")
    return n == 1 ? names.workers : std::vector<std::string>{};
  if (cmd == "set-consistency") {
    if (n == 1)
      return {"bsp", "ssp", "asp"};
    return n == 2 && before[1] == "ssp" ? std::vector<std::string>{"--staleness"}
                                        : std::vector<std::string>{};
  }
  if (cmd == "add-worker") {
    if (before.back() == "--node")
      return names.nodes;
    if (before.back() == "--device")
      return {"cpu", "cuda:0"};
    if (n % 2 == 0) // after an option's value: the options not given yet
      return {};
    std::vector<std::string> out;
    for (const char* o : {"--node", "--device"})
      if (std::find(before.begin(), before.end(), o) == before.end())
        out.push_back(o);
    return out;
  }
  return {}; // checkpoint, stop, help, quit, exit take nothing
}

int ctl_session::repl() {
  if (::pipe(interrupt_pipe) != 0)
    return 1;
  for (int fd : interrupt_pipe) {
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  rl_catch_signals = 0; // libedit's own handler re-raises SIGINT, which ended ctl
  rl_getc_function = read_key;
  rl_attempted_completion_function = complete;
  completing = this;
  auto history = history_path();
  if (!history.empty())
    read_history(history.c_str());
  std::printf("herd ctl connected to %s; 'help' lists the commands, tab completes\n",
              address_.c_str());
  auto prompt = "herd " + address_ + "> ";
  while (char* raw = read_line(prompt)) {
    std::string line{raw};
    std::free(raw);
    auto words = split_words(line);
    if (words.empty())
      continue;
    add_history(line.c_str());
    if (words[0] == "quit" || words[0] == "exit")
      break;
    if (asks_for_help(words)) { // "help", or "add-worker --help" as herd ctl takes it
      std::printf("%s", help_text);
      continue;
    }
    run(words, false); // takes "status --json" as the one-shot command does
  }
  completing = nullptr;
  if (!history.empty())
    write_history(history.c_str());
  std::printf("\n");
  return 0;
}

} // namespace herd::apps
