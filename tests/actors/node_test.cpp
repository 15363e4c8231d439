// A node daemon loads a job's training set in a helper: while the set is read it answers
// status and protocol handshakes (a peer waits for that handshake), and a failed load leaves
// it usable.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>
#include <thread>
#include <utility>

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

// Test files are plain; the training images are `train_images`.
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
  // Data files must be regular files now, so nothing holds the load: the status may come
  // before or after it ends (a FIFO held it once, and held a daemon's loader for good).
  test::temp_dir dir;
  const auto file = dir.file("train-images");
  REQUIRE_FALSE(data::write_idx_images(file, small_images(64), false));
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  auto node = actors::spawn_node(sys, daemon_setup());
  auto sup = sys.spawn([] { return caf::behavior{[](int) {}}; });
  {
    caf::scoped_actor attacher{sys};
    attacher->send(node, attach_atom::value, sup, job_json(dir, file),
                   std::vector<messages::peer>{});
    CHECK_FALSE(status_of(sys, node, 5s).empty());
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
  const auto garbage = dir.file("garbage");
  std::ofstream{garbage, std::ios::binary} << "not an idx file at all";
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  auto node = actors::spawn_node(sys, daemon_setup());
  auto sup = sys.spawn([] { return caf::behavior{[](int) {}}; });
  caf::scoped_actor attacher{sys};
  // A FIFO with no writer is refused at once: its open used to block the loader for good, and
  // every later job on the daemon waited for it.
  for (const auto& [path, why] : {std::pair{fifo, std::string("not a regular file (a FIFO)")},
                                  std::pair{garbage, std::string("magic")}}) {
    std::string err;
    attacher->request(node, 60s, attach_atom::value, sup, job_json(dir, path),
                      std::vector<messages::peer>{})
      .receive([&](bool) { err = "attached"; }, [&](caf::error& e) { err = describe(e); });
    CHECK_THAT(err, Catch::Contains(path) && Catch::Contains(why));
    CHECK(nlohmann::json::parse(status_of(sys, node, 5s)).at("job") == false);
  }
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
