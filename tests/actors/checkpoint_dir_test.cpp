// A job's checkpoint directory: one run at a time (a lock), none over an earlier run's
// checkpoints unless it resumes them, a directory made for it removed when left empty.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/checkpoint_dir.hpp"
#include "actors/checkpoint_store.hpp"
#include "actors/job.hpp"
#include "actors/system_config.hpp"
#include "tests/actors/sample_checkpoint.hpp"
#include "tests/actors/small_job.hpp"
#include "tests/temp_dir.hpp"

using namespace herd;
using test::sample_checkpoint;
namespace fs = std::filesystem;

TEST_CASE("checkpoint dir: a run is refused where another run's checkpoints lie or it is in use",
          "[actors]") {
  test::temp_dir dir;
  auto ck = dir.file("ck");
  REQUIRE(actors::write_checkpoint(ck, sample_checkpoint(40), 2));
  fs::create_directories(ck + "/ckpt-000000000050.tmp"); // a write that died
  actors::checkpoint_dir_lock first, second, third, fourth;
  auto fresh = actors::hold_checkpoint_dir(first, ck, "");
  REQUIRE(fresh);
  CHECK(code_of(fresh) == errc::config_invalid);
  CHECK_THAT(describe(fresh), Catch::Contains("checkpoint directory " + ck + " holds checkpoints "
                                              "of an earlier run (the newest at clock 40)")
                                && Catch::Contains("--resume " + ck));
  CHECK_FALSE(first.held());
  CHECK_FALSE(fs::exists(ck + "/.herd.lock")); // left as it was
  CHECK(fs::exists(ck + "/ckpt-000000000050.tmp"));
  // Resuming from that very directory: held; the dead write's directory goes.
  REQUIRE_FALSE(actors::hold_checkpoint_dir(second, ck, ck));
  CHECK(second.held());
  CHECK_FALSE(fs::exists(ck + "/ckpt-000000000050.tmp"));
  second.release();
  CHECK_FALSE(fs::exists(ck + "/.herd.lock"));
  // Held by another process (a lock of its own on the file): refused at once.
  auto other = dir.file("other");
  fs::create_directories(other);
  int fd = ::open((other + "/.herd.lock").c_str(), O_RDWR | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
  auto busy = actors::hold_checkpoint_dir(third, other, "");
  ::close(fd);
  REQUIRE(busy);
  CHECK(describe(busy) == "checkpoint directory " + other + " is in use by another herd run");
  // A directory it had to make goes again when nothing was written into it.
  auto made = dir.file("made/ck");
  REQUIRE_FALSE(actors::hold_checkpoint_dir(fourth, made, ""));
  CHECK(fs::exists(made + "/.herd.lock"));
  // Another job of this process is refused too (flock: one open file, one holder).
  actors::checkpoint_dir_lock fifth;
  CHECK(actors::hold_checkpoint_dir(fifth, made, ""));
  fourth.release();
  CHECK_FALSE(fs::exists(dir.file("made")));
}

TEST_CASE("checkpoint dir: a fresh job is refused before it trains where checkpoints lie",
          "[actors][integration]") {
  test::temp_dir dir;
  auto ck = dir.file("ck");
  REQUIRE(actors::write_checkpoint(ck, sample_checkpoint(90), 2));
  auto in = test::small_job();
  in.cfg.checkpoint.every = 10;
  in.cfg.checkpoint.dir = ck;
  actors::system_config scfg;
  caf::actor_system sys{scfg};
  auto r = actors::run_job(sys, in);
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == errc::config_invalid); // herd run: bad input, exit 2
  CHECK_THAT(describe(r.error()), Catch::Contains("the newest at clock 90"));
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(ck))
    names.push_back(e.path().filename().string());
  CHECK(names == std::vector<std::string>{"ckpt-000000000090"});
}
