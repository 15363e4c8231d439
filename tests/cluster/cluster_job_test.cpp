// Three node daemons as real processes on loopback: a Fashion-MNIST job across them, steered
// through `herd ctl` (one-shot commands and the interactive prompt on a pseudo-terminal).
#include <catch2/catch.hpp>

#include <poll.h>
#include <pty.h>

#include <regex>
#include <thread>

#include "tests/cluster/processes.hpp"
#include "tests/read_until.hpp"
#include "tests/temp_dir.hpp"

#ifndef HERD_EXAMPLES_DIR
#error "HERD_EXAMPLES_DIR must name the examples directory"
#endif

namespace {

using namespace std::chrono_literals;
using herd::test::file_text;
using herd::test::herd_process;
using herd::test::temp_dir;

void write_file(const std::string& path, const std::string& text) {
  std::ofstream{path, std::ios::binary | std::ios::trunc} << text;
}

// A topology of nodes a, b, c on free loopback ports.
struct cluster {
  temp_dir dir;
  std::vector<uint16_t> ports;
  std::vector<std::unique_ptr<herd_process>> daemons;
  std::string topology;

  explicit cluster(double connect_timeout_s = 30) {
    std::string nodes;
    for (char name : {'a', 'b', 'c'}) {
      ports.push_back(herd::test::free_port());
      nodes += std::string(nodes.empty() ? "" : ",") + "{\"name\": \"" + name
               + "\", \"host\": \"127.0.0.1\", \"port\": " + std::to_string(ports.back()) + "}";
    }
    topology = dir.file("cluster.json");
    write_file(topology, "{\"nodes\": [" + nodes + "], \"connect_timeout_s\": "
                           + std::to_string(connect_timeout_s) + "}");
  }

  void start() {
    for (std::string name : {"a", "b", "c"}) {
      daemons.push_back(std::make_unique<herd_process>(
        std::vector<std::string>{"node", "--topology", topology, "--name", name},
        dir.file("node-" + name + ".log")));
    }
    for (auto& d : daemons)
      REQUIRE(d->wait_for_output("listening on", 20s));
  }

  std::string address(size_t i) const { return "127.0.0.1:" + std::to_string(ports[i]); }

  /// `herd ctl --connect <node i> WORDS...`, run to its end; its output.
  std::string ctl(size_t i, std::vector<std::string> words, int* code = nullptr) {
    std::vector<std::string> args{"ctl", "--connect", address(i)};
    args.insert(args.end(), words.begin(), words.end());
    herd_process p{args, dir.file("ctl.log")};
    auto status = p.wait(30s);
    if (code != nullptr)
      *code = status;
    return p.output();
  }
};

using herd::test::read_until;

// The ctl prompt on a pseudo-terminal: status as a table, tab completion, quit.
void drive_prompt(const std::string& address) {
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::setenv("HOME", "/tmp", 1);
    ::execl(HERD_BINARY, HERD_BINARY, "ctl", "--connect", address.c_str(), (char*) nullptr);
    ::_exit(127);
  }
  std::string seen;
  CHECK(read_until(master, "> ", seen, 20s));
  std::string cmd = "status\n";
  REQUIRE(::write(master, cmd.data(), cmd.size()) == ssize_t(cmd.size()));
  CHECK(read_until(master, "SAMPLES/S", seen, 20s));
  CHECK(read_until(master, "active", seen, 5s));
  seen.clear();
  cmd = "hel\t\n"; // completes to "help"
  REQUIRE(::write(master, cmd.data(), cmd.size()) == ssize_t(cmd.size()));
  CHECK(read_until(master, "add-worker --node NAME", seen, 10s));
  cmd = "quit\n";
  REQUIRE(::write(master, cmd.data(), cmd.size()) == ssize_t(cmd.size()));
  int status = 0;
  for (int i = 0; i < 100 && ::waitpid(pid, &status, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(100ms);
  if (::waitpid(pid, &status, WNOHANG) == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL("herd ctl did not end on quit; it printed:\n" << seen);
  }
  ::close(master);
}

double final_accuracy(const std::string& out) {
  std::smatch m;
  std::regex re{R"(final test accuracy ([0-9.]+)%)"};
  return std::regex_search(out, m, re) ? std::stod(m[1]) : -1;
}

// Every daemon heard the job end as a detach (herd run waits for it before it exits), not as
// its supervisor gone.
void check_detached(cluster& c) {
  for (auto& d : c.daemons) {
    auto log = d->output();
    INFO(log);
    CHECK(log.find("job detached") != std::string::npos);
    CHECK(log.find("supervisor is gone") == std::string::npos);
  }
}

} // namespace

TEST_CASE("cluster: 3 daemons train Fashion-MNIST, ctl adds a worker and removes another",
          "[integration][slow]") {
  cluster c;
  c.start();
  std::string job = std::string(HERD_EXAMPLES_DIR) + "/cluster/fashion_mnist.json";
  herd_process run{{"run", job, "--cluster", c.topology, "--output", c.dir.file("out")},
                   c.dir.file("run.log")};
  REQUIRE(run.wait_for_output("job started", 60s));
  REQUIRE(run.wait_for_output("step 200 ", 60s));

  int code = -1;
  auto status = c.ctl(1, {"status"}, &code);
  CHECK(code == 0);
  CHECK(status.find("WORKER") != std::string::npos);
  CHECK(std::regex_search(status, std::regex{R"(\n0 +b +active)"}));
  CHECK(std::regex_search(status, std::regex{R"(\n1 +c +active)"}));
  CHECK(std::regex_search(status, std::regex{R"(DEVICE\n0 +b +active.* cpu\n)"}));

  // A device the node lacks: the reply says so in one line, and the job runs on unharmed.
  auto no_gpu = c.ctl(2, {"add-worker", "--node", "a", "--device", "cuda:999"}, &code);
  CHECK(code != 0);
  CHECK(no_gpu.find("cuda:999") != std::string::npos);
  CHECK(no_gpu.find("node a") != std::string::npos);
  auto added = c.ctl(2, {"add-worker", "--node", "a"}, &code);
  CHECK(code == 0);
  CHECK(added.find("worker 2 added on node a") != std::string::npos);
  drive_prompt(c.address(0));
  auto saved = c.ctl(1, {"checkpoint"}, &code);
  CHECK(code == 0);
  CHECK(saved.find("checkpoint at clock") != std::string::npos);
  CHECK(saved.find(c.dir.file("out") + "/checkpoints/ckpt-") != std::string::npos);
  auto removed = c.ctl(0, {"remove-worker", "0"}, &code);
  CHECK(code == 0);
  CHECK(removed.find("worker 0 finishes its step") != std::string::npos);
  // A worker that left is one line under the table, not a row (they pile up in long jobs).
  std::string left;
  for (int i = 0; i < 100 && left.find("left the job") == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
    left = c.ctl(1, {"status"}, &code);
  }
  CHECK(left.find("\nleft the job: worker 0 (status --json has their figures)\n")
        != std::string::npos);
  CHECK_FALSE(std::regex_search(left, std::regex{R"(\n0 +b +left)"}));
  CHECK(std::regex_search(left, std::regex{R"(\n1 +c +active)"}));
  auto bad = c.ctl(0, {"remove-worker", "7"}, &code);
  CHECK(code == 1); // a well-formed command the job refuses (docs/operations.md, exit codes)
  CHECK(bad.find("herd: no active worker 7") != std::string::npos);

  REQUIRE(run.wait(240s) == 0);
  auto out = run.output();
  INFO(out);
  CHECK(out.find("worker 2 added on node a") != std::string::npos);
  CHECK(out.find("removing worker 0") != std::string::npos);
  CHECK(final_accuracy(out) >= 88.0);
  // Worker 0 removed mid-chunk handed back only what it had not trained: 6 epochs exactly.
  CHECK(out.find("steps, 360000 samples") != std::string::npos);
  CHECK(c.daemons[0]->output().find("worker 2 started") != std::string::npos);
  check_detached(c);
  // The daemons outlive the job and answer for themselves again.
  auto after = c.ctl(0, {"status"}, &code);
  CHECK(after.find("node a: no job running") != std::string::npos);
}

TEST_CASE("cluster: herd run names the nodes it cannot reach", "[integration]") {
  cluster c{1.0}; // no daemon started
  herd_process run{{"run", std::string(HERD_EXAMPLES_DIR) + "/cluster/fashion_mnist.json",
                    "--cluster", c.topology, "--output", c.dir.file("out")},
                   c.dir.file("run.log")};
  CHECK(run.wait(60s) == 1);
  auto out = run.output();
  INFO(out);
  CHECK(out.find("cannot reach node(s)") != std::string::npos);
  CHECK(out.find("a at 127.0.0.1:" + std::to_string(c.ports[0])) != std::string::npos);
  CHECK(out.find("c at 127.0.0.1:" + std::to_string(c.ports[2])) != std::string::npos);
}

TEST_CASE("cluster: a daemon refuses a non-loopback address without TLS", "[integration]") {
  temp_dir dir;
  auto topo = dir.file("cluster.json");
  write_file(topo, R"({"nodes": [{"name": "a", "host": "10.255.255.1", "port": 7301}]})");
  herd_process node{{"node", "--topology", topo, "--name", "a"}, dir.file("node.log")};
  CHECK(node.wait(20s) == 2);
  auto out = node.output();
  CHECK(out.find("herd: node a would listen on 10.255.255.1 without TLS") != std::string::npos);
  herd_process unknown{{"node", "--topology", topo, "--name", "z"}, dir.file("node2.log")};
  CHECK(unknown.wait(20s) == 2);
  CHECK(unknown.output().find("no node named 'z' (nodes: a)") != std::string::npos);
}

TEST_CASE("cluster: a second daemon on a port in use names it once and exits 1", "[integration]") {
  temp_dir dir;
  auto port = std::to_string(herd::test::free_port());
  auto topo = dir.file("cluster.json");
  write_file(topo, R"({"nodes": [{"name": "a", "host": "127.0.0.1", "port": )" + port + "}]}");
  herd_process first{{"node", "--topology", topo, "--name", "a"}, dir.file("node.log")};
  REQUIRE(first.wait_for_output("listening on", 20s));
  herd_process second{{"node", "--topology", topo, "--name", "a"}, dir.file("node2.log")};
  CHECK(second.wait(20s) == 1);
  CHECK(second.output() == "herd: node a: 127.0.0.1:" + port + ": cannot listen there: the port "
                           "is in use, or the address is not this machine's\n");
  first.kill(SIGTERM);
}

TEST_CASE("cluster: 2 pipeline stages x 2 replicas train across 3 daemons", "[integration]") {
  cluster c;
  c.start();
  // The pipeline example, shortened: 6000 training samples, one epoch.
  auto text = file_text(std::string(HERD_EXAMPLES_DIR) + "/cluster/pipeline.json");
  auto at = text.find("\"normalize\"");
  REQUIRE(at != std::string::npos);
  text.insert(at, "\"train_limit\": 6000, \"test_limit\": 2000, ");
  at = text.find("\"epochs\": 6");
  REQUIRE(at != std::string::npos);
  text.replace(at, 11, "\"epochs\": 1");
  auto job = c.dir.file("pipeline.json");
  write_file(job, text);
  herd_process run{{"run", job, "--cluster", c.topology, "--output", c.dir.file("out")},
                   c.dir.file("run.log")};
  REQUIRE(run.wait(120s) == 0);
  auto out = run.output();
  INFO(out);
  CHECK(out.find("job started: 3 shard(s), 4 worker(s) on 3 node(s)") != std::string::npos);
  CHECK(final_accuracy(out) >= 70.0);
  // The stages ran where the job placed them: replica 1's stage 1 on node a.
  CHECK(c.daemons[0]->output().find("worker 3 started") != std::string::npos);
  check_detached(c);
}
