// Under BSP a shard knows which clock its parameters are of, also where its version does not
// (a round no member pushed to): the evaluation clocks are kept by clock. After a resume from
// the end of training the workers join two clocks past the checkpoint, and the evaluations of
// the new epochs, kept by version, were two clocks off and skipped.
#include <catch2/catch.hpp>

#include <vector>

#include "actors/shard_state.hpp"

using herd::actors::consistency_rule;
using herd::actors::shard_state;
using herd::config::consistency_model;

namespace {

shard_state bsp_shard() {
  herd::config::optimizer_config sgd;
  sgd.lr = 0.5;
  sgd.momentum = 0;
  return shard_state{0, 0, {1.0f, 2.0f}, sgd, consistency_rule{consistency_model::bsp, 0}};
}

} // namespace

TEST_CASE("shard_clock: a worker joining an empty shard past its last round keeps evaluation "
          "clocks by clock",
          "[actors]") {
  auto st = bsp_shard();
  st.keep_every(4);
  st.join(0, 0);
  std::vector<float> g{1.0f, 1.0f};
  for (uint64_t c = 0; c < 6; ++c)
    REQUIRE_FALSE(st.push(0, c, st.version(), g.data(), 1));
  st.leave(0); // the end of training: the checkpoint at clock 6
  REQUIRE(st.version() == 6);
  st.join(1, 8); // two clocks past it
  CHECK(st.holds_clock(8)); // rounds 6 and 7 never come: the parameters are clock 8's
  std::vector<std::vector<float>> at(12);
  at[8] = st.params();
  for (uint64_t c = 8; c < 11; ++c) {
    REQUIRE_FALSE(st.push(1, c, st.version(), g.data(), 1));
    at[c + 1] = st.params();
  }
  CHECK(st.version() == 9); // two behind the clock
  CHECK(st.params_clock() == 11);
  CHECK(st.holds_clock(11));
  CHECK_FALSE(st.holds_clock(8));
  auto eight = st.take_kept(8); // kept before round 8 was applied
  REQUIRE(eight);
  CHECK(*eight == at[8]);
  CHECK_FALSE(st.take_kept(9));
  CHECK_FALSE(st.take_kept(11)); // not an evaluation clock
}

TEST_CASE("shard_clock: rounds every member skipped leave the version behind, not the kept "
          "clocks",
          "[actors]") {
  auto st = bsp_shard();
  st.keep_every(2);
  st.join(0, 0);
  std::vector<float> g{1.0f, 1.0f};
  REQUIRE_FALSE(st.push(0, 0, 0, g.data(), 1));
  REQUIRE_FALSE(st.skip(0, 1)); // an overflowed mixed-precision step: nothing applied
  auto two = st.params();
  CHECK(st.version() == 1);
  CHECK(st.holds_clock(2));
  REQUIRE_FALSE(st.push(0, 2, 1, g.data(), 1));
  REQUIRE_FALSE(st.push(0, 3, 2, g.data(), 1));
  auto four = st.params();
  REQUIRE_FALSE(st.push(0, 4, 3, g.data(), 1));
  CHECK(st.version() == 4); // one behind the clock
  auto kept = st.take_kept(2);
  REQUIRE(kept);
  CHECK(*kept == two);
  kept = st.take_kept(4);
  REQUIRE(kept);
  CHECK(*kept == four);
  CHECK(st.params() != four);
}

TEST_CASE("shard_clock: a join after a restore without members is bounded by its clock",
          "[actors]") {
  // A checkpoint of a job whose rule changed: its version is no clock (here past it).
  auto src = bsp_shard();
  src.set_rule(consistency_rule{consistency_model::asp, 0});
  src.join(0, 0);
  std::vector<float> g{1.0f, 1.0f};
  for (uint64_t c = 0; c < 5; ++c)
    REQUIRE_FALSE(src.push(0, c, src.version(), g.data(), 1));
  src.leave(0);
  src.set_rule(consistency_rule{consistency_model::bsp, 0});
  auto snap = src.snapshot();
  auto st = bsp_shard();
  st.keep_every(2);
  REQUIRE_FALSE(st.restore(snap));
  st.join(1, 3);
  CHECK(st.holds_clock(3));
  auto three = st.params();
  REQUIRE_FALSE(st.push(1, 3, st.version(), g.data(), 1));
  REQUIRE_FALSE(st.push(1, 4, st.version(), g.data(), 1));
  auto four = st.take_kept(4);
  REQUIRE(four);
  CHECK(*four != three);
  CHECK_FALSE(st.holds_clock(4));
  CHECK(st.holds_clock(5));
}
