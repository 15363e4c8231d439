// herd ctl's interactive prompt driven through a pseudo-terminal: a node that dies under it,
// Ctrl-C, tab completion in context, help.
#include <catch2/catch.hpp>

#include <poll.h>
#include <pty.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli_runner.hpp"
#include "tests/cluster/processes.hpp"
#include "tests/read_until.hpp"

using namespace herd::apps::test;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

/// `herd ctl --connect ADDRESS` on a pseudo-terminal, HOME in `home` (its history file).
class prompt {
public:
  prompt(const std::string& address, const std::string& home) {
    pid_ = ::forkpty(&fd_, nullptr, nullptr, nullptr);
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::setenv("HOME", home.c_str(), 1);
      ::execl(HERD_BINARY, HERD_BINARY, "ctl", "--connect", address.c_str(), (char*) nullptr);
      ::_exit(127);
    }
  }
  ~prompt() {
    if (!ended_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(fd_);
  }

  void type(const std::string& keys) {
    REQUIRE(::write(fd_, keys.data(), keys.size()) == ssize_t(keys.size()));
  }

  /// Reads until `want` appears in the output since the last forget() (true) or `timeout`.
  bool read_until(const std::string& want, std::chrono::milliseconds timeout) {
    return herd::test::read_until(fd_, want, seen, timeout);
  }
  void forget() { seen.clear(); }

  /// Whether ctl ended (exit code 0) within `timeout`.
  bool ended_ok(std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    int st = 0;
    while (std::chrono::steady_clock::now() < end) {
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        ended_ = true;
        return WIFEXITED(st) && WEXITSTATUS(st) == 0;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  std::string seen;

private:
  int fd_ = -1;
  pid_t pid_ = -1;
  bool ended_ = false;
};

struct one_node {
  temp_dir dir;
  uint16_t port = herd::test::free_port();
  std::string address = "127.0.0.1:" + std::to_string(port);
  std::unique_ptr<herd::test::herd_process> daemon;

  one_node() {
    auto topology = dir.file("cluster.json");
    write_text(topology, R"({"nodes": [{"name": "a", "host": "127.0.0.1", "port": )"
                           + std::to_string(port) + "}]}");
    daemon = std::make_unique<herd::test::herd_process>(
      std::vector<std::string>{"node", "--topology", topology, "--name", "a"},
      dir.file("node.log"));
    REQUIRE(daemon->wait_for_output("listening on", 20s));
  }
};

} // namespace

TEST_CASE("herd ctl: the prompt fails a command at once when its node dies, and stays usable",
          "[apps][integration]") {
  one_node node;
  prompt ctl{node.address, node.dir.path().string()};
  REQUIRE(ctl.read_until("> ", 20s));
  ctl.type("status\n");
  REQUIRE(ctl.read_until("node a: no job running", 20s));
  ctl.forget();
  // The node stops answering with a request pending, then dies: the request fails when the
  // connection is lost, not at its 30 s timeout (a lost CAF proxy drops what it is sent).
  ::kill(node.daemon->pid(), SIGSTOP);
  ctl.type("status\n");
  std::this_thread::sleep_for(300ms); // let the request reach the stopped node's socket
  node.daemon->kill();
  INFO(ctl.seen);
  CHECK(ctl.read_until("herd: node " + node.address + " is gone (connection lost)", 15s));
  CHECK(ctl.read_until("> ", 15s));
  // The next command tries the address once more and says what to do.
  ctl.forget();
  ctl.type("status\n");
  CHECK(ctl.read_until("is gone and cannot be reached again; quit and start herd ctl with "
                       "--connect to another node",
                       15s));
  CHECK(ctl.read_until("> ", 15s));
  // Ctrl-D. Under load a ^D is now and then lost (about 1 run in 5 with two busy cores: the
  // next line typed shows an empty line before it, so libedit never read it; canonical mode's
  // EOF consumed as the terminal changed modes is the likely cause), so "quit" follows.
  ctl.type("\x04");
  bool ended = ctl.ended_ok(3s);
  if (!ended) {
    WARN("Ctrl-D was not read: quit instead");
    ctl.type("quit\n");
    ended = ctl.ended_ok(10s);
  }
  CHECK(ended);
}

TEST_CASE("herd ctl: at the prompt Ctrl-C abandons the line, tab completes in context and help "
          "lists exit",
          "[apps][integration]") {
  one_node node;
  prompt ctl{node.address, node.dir.path().string()};
  REQUIRE(ctl.read_until("> ", 20s));
  ctl.forget();
  ctl.type("stop\x03"); // the line is dropped, not sent, and ctl lives on
  REQUIRE(ctl.read_until("> ", 5s));
  ctl.type("status\n");
  CHECK(ctl.read_until("node a: no job running", 10s));
  INFO(ctl.seen);
  CHECK(ctl.seen.find("no job is running") == std::string::npos); // what "stop" would answer
  // After a command's name only its own words are offered.
  ctl.forget();
  ctl.type("\x15set-consistency \t\t");
  CHECK(ctl.read_until("asp  bsp  ssp", 5s));
  CHECK(ctl.seen.find("add-worker") == std::string::npos);
  // The completed line is sent as typed: node a's name, then --device, then exit.
  ctl.forget();
  ctl.type("\x15" "add-worker --node \t--dev\tcpu\n");
  CHECK(ctl.read_until("no job is running on node a", 10s)); // not "unknown option"
  ctl.type("help\n");
  CHECK(ctl.read_until("help, quit, exit", 5s));
  ctl.type("ex\t\n");
  CHECK(ctl.ended_ok(5s));
}
