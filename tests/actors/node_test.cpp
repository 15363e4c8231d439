// A node daemon loads a job's training set in a helper: while the set is read it answers
// status and protocol handshakes (a peer waits for that handshake), and a failed load leaves
// it usable. The training images are a named pipe, so the load lasts until the test writes.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <nlohmann/json.hpp>

#include "actors/node.hpp"
#include "actors/system_config.hpp"
#include "data/idx.hpp"
#include "messages/atoms.hpp"
#include "messages/specs.hpp"
#include "tests/temp_dir.hpp"

using namespace herd;
using namespace std::chrono_literals;

namespace {

data::idx_images small_images(uint32_t count) {
  data::idx_images im;
  im.count = count;
  im.rows = 4;
  im.cols = 4;
  im.pixels.resize(size_t(count) * 16);
  for (size_t i = 0; i < im.pixels.size(); ++i)
    im.pixels[i] = uint8_t(i * 37 % 251);
  return im;
}

std::vector<uint8_t> small_labels(uint32_t count) {
  std::vector<uint8_t> y(count);
  for (uint32_t i = 0; i < count; ++i)
    y[i] = uint8_t(i % 10);
  return y;
}

// Test files are plain; the training images are `train_images` (a pipe or a file).
std::string job_json(const test::temp_dir& dir, const std::string& train_images) {
  REQUIRE_FALSE(data::write_idx_labels(dir.file("train-labels"), small_labels(64), false));
  REQUIRE_FALSE(data::write_idx_images(dir.file("test-images"), small_images(32), false));
  REQUIRE_FALSE(data::write_idx_labels(dir.file("test-labels"), small_labels(32), false));
  nlohmann::json j{
    {"name", "node_load"},
    {"model", {{"layers", {16, 8, 10}}}},
    {"data",
     {{"train_images", train_images},
      {"train_labels", dir.file("train-labels")},
      {"test_images", dir.file("test-images")},
      {"test_labels", dir.file("test-labels")}}},
    {"training", {{"batch_size", 8}, {"epochs", 1}, {"eval_every", 0}}},
    {"nodes", {{{"name", "a"}}}},
    {"shards", {{{"node", "a"}}}},
    {"workers", {{{"node", "a"}}}},
    {"supervisor", {{"node", "a"}}}};
  return j.dump();
}

// The node's status within `wait`, or "" when it does not answer.
std::string status_of(caf::actor_system& sys, const caf::actor& node, std::chrono::seconds wait) {
  caf::scoped_actor self{sys};
  std::string out;
  self->request(node, wait, status_atom::value)
    .receive([&](const std::string& s) { out = s; }, [](caf::error&) {});
  return out;
}

// Opens the pipe for writing once (unblocking its reader) and writes through it.
struct pipe_writer {
  std::string path;
  std::thread t;
  void write(const data::idx_images& im) {
    t = std::thread([p = path, im] { (void) data::write_idx_images(p, im, false); });
  }
  void write_garbage() {
    t = std::thread([p = path] {
      if (auto* f = std::fopen(p.c_str(), "wb")) {
        std::fputs("not an idx file at all", f);
        std::fclose(f);
      }
    });
  }
  ~pipe_writer() {
    if (t.joinable()) {
      t.join();
      return;
    }
    // A failed check must not leave the node's loader blocked in open(): end the pipe (a
    // non-blocking open fails at once when nobody reads it).
    int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0)
      ::close(fd);
  }
};

actors::node_setup daemon_setup() {
  actors::node_setup setup;
  setup.name = std::string(1, 'a');
  setup.codecs = std::make_shared<kernels::compress::codec_registry>(
    kernels::compress::default_codecs());
  return setup; // no training set and no job: a daemon loads what the job names
}

} // namespace

TEST_CASE("node: answers status while it loads the training set, then attaches",
          "[actors]") {
  test::temp_dir dir;
  const auto fifo = dir.file("train-images");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const auto json = job_json(dir, fifo);
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  auto node = actors::spawn_node(sys, daemon_setup());
  auto sup = sys.spawn([] { return caf::behavior{[](int) {}}; });
  {
    pipe_writer writer{fifo, {}};
    caf::scoped_actor attacher{sys};
    attacher->send(node, attach_atom::value, sup, json, std::vector<messages::peer>{});
    // The load is blocked on the pipe: the node still answers, with no job attached yet.
    auto during = status_of(sys, node, 5s);
    REQUIRE_FALSE(during.empty());
    CHECK(nlohmann::json::parse(during).at("job") == false);
    writer.write(small_images(64));
    bool attached = false;
    std::string err;
    attacher->receive([&](bool ok) { attached = ok; },
                      [&](caf::error& e) { err = describe(e); },
                      caf::after(60s) >> [&] { err = "no answer to attach"; });
    CHECK(err.empty());
    CHECK(attached);
  }
  CHECK(nlohmann::json::parse(status_of(sys, node, 5s)).at("job") == true);
  caf::anon_send_exit(node, caf::exit_reason::kill);
  caf::anon_send_exit(sup, caf::exit_reason::kill);
}

TEST_CASE("node: a failed load answers the attach with the file's error, the node goes on",
          "[actors]") {
  test::temp_dir dir;
  const auto fifo = dir.file("train-images");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  auto node = actors::spawn_node(sys, daemon_setup());
  auto sup = sys.spawn([] { return caf::behavior{[](int) {}}; });
  caf::scoped_actor attacher{sys};
  {
    pipe_writer writer{fifo, {}};
    attacher->send(node, attach_atom::value, sup, job_json(dir, fifo),
                   std::vector<messages::peer>{});
    writer.write_garbage();
    std::string err;
    attacher->receive([&](bool) { err = "attached"; },
                      [&](caf::error& e) { err = describe(e); },
                      caf::after(60s) >> [&] { err = "no answer to attach"; });
    CHECK(err.find(fifo) != std::string::npos);
  }
  CHECK(nlohmann::json::parse(status_of(sys, node, 5s)).at("job") == false);
  // The same job with a readable file attaches: nothing of the failed load was kept.
  const auto file = dir.file("train-images.idx");
  REQUIRE_FALSE(data::write_idx_images(file, small_images(64), false));
  bool attached = false;
  attacher->request(node, 60s, attach_atom::value, sup, job_json(dir, file),
                    std::vector<messages::peer>{})
    .receive([&](bool ok) { attached = ok; }, [](caf::error&) {});
  CHECK(attached);
  caf::anon_send_exit(node, caf::exit_reason::kill);
  caf::anon_send_exit(sup, caf::exit_reason::kill);
}

TEST_CASE("node: a detach from another supervisor than the job's leaves the job attached",
          "[actors]") {
  test::temp_dir dir;
  const auto file = dir.file("train-images.idx");
  REQUIRE_FALSE(data::write_idx_images(file, small_images(64), false));
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  auto node = actors::spawn_node(sys, daemon_setup());
  // The job's supervisor: sends detach when told to.
  auto sup = sys.spawn([node](caf::event_based_actor* self) {
    return caf::behavior{[=](int) {
      self->request(node, caf::infinite, detach_atom::value).then([](bool) {});
    }};
  });
  caf::scoped_actor other{sys};
  bool attached = false;
  other->request(node, 60s, attach_atom::value, sup, job_json(dir, file),
                 std::vector<messages::peer>{})
    .receive([&](bool ok) { attached = ok; }, [](caf::error&) {});
  REQUIRE(attached);
  // A second job's attach is refused, naming the job that holds the node and what to do.
  auto second = sys.spawn([](caf::event_based_actor*) { return caf::behavior{[](int) {}}; });
  std::string refusal;
  other->request(node, 60s, attach_atom::value, second, job_json(dir, file),
                 std::vector<messages::peer>{})
    .receive([](bool) {}, [&](caf::error& err) { refusal = describe(err); });
  CHECK_THAT(refusal, Catch::Contains("runs another job already (")
                        && Catch::Contains("herd ctl stop"));
  caf::anon_send_exit(second, caf::exit_reason::kill);
  // A second job's supervisor, refused by this node, detaches from every node it asked.
  bool answered = false;
  other->request(node, 5s, detach_atom::value).receive([&](bool) { answered = true; },
                                                        [](caf::error&) {});
  CHECK(answered);
  CHECK(nlohmann::json::parse(status_of(sys, node, 5s)).at("job") == true);
  // The job's own supervisor detaches it.
  caf::anon_send(sup, 1);
  bool detached = false;
  for (int i = 0; i < 100 && !detached; ++i) {
    detached = nlohmann::json::parse(status_of(sys, node, 5s)).at("job") == false;
    if (!detached)
      std::this_thread::sleep_for(50ms);
  }
  CHECK(detached);
  caf::anon_send_exit(node, caf::exit_reason::kill);
  caf::anon_send_exit(sup, caf::exit_reason::kill);
}

TEST_CASE("node: an error message that answers nothing leaves the daemon running", "[actors]") {
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  auto node = actors::spawn_node(sys, daemon_setup());
  caf::anon_send(node, make_error(errc::actor_failed, "a stray error"));
  CHECK(nlohmann::json::parse(status_of(sys, node, 5s)).at("job") == false);
  caf::anon_send_exit(node, caf::exit_reason::kill);
}
