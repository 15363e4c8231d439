#include <catch2/catch.hpp>

#include <vector>

#include "actors/shard_state.hpp"

using herd::actors::consistency_rule;
using herd::actors::shard_state;
using herd::config::consistency_model;

namespace {

herd::config::optimizer_config plain_sgd(double lr) {
  herd::config::optimizer_config o;
  o.lr = lr;
  o.momentum = 0;
  return o;
}

shard_state make_shard(consistency_model m, uint64_t s = 0, int members = 2) {
  shard_state st{0, 100, {1.0f, 2.0f, 3.0f}, plain_sgd(0.5), consistency_rule{m, s}};
  for (int w = 0; w < members; ++w)
    st.join(uint32_t(w), 0);
  return st;
}

} // namespace

TEST_CASE("shard_state: BSP applies one sample-weighted mean step when every member pushed",
          "[actors]") {
  auto st = make_shard(consistency_model::bsp);
  std::vector<float> g0{1, 1, 1}, g1{4, 4, -2};
  REQUIRE_FALSE(st.push(0, 0, g0.data(), 10));
  CHECK(st.version() == 0);
  CHECK(st.params() == std::vector<float>{1, 2, 3}); // nothing applied yet
  CHECK_FALSE(st.pull_ready(1));
  REQUIRE_FALSE(st.push(1, 0, g1.data(), 30));
  CHECK(st.version() == 1);
  CHECK(st.pull_ready(1));
  CHECK_FALSE(st.pull_ready(2));
  // mean = (10*g0 + 30*g1) / 40 = {3.25, 3.25, -1.25}; w -= 0.5 * mean
  CHECK(st.params()[0] == Approx(1 - 0.5 * 3.25));
  CHECK(st.params()[1] == Approx(2 - 0.5 * 3.25));
  CHECK(st.params()[2] == Approx(3 + 0.5 * 1.25));
}

TEST_CASE("shard_state: a push is applied at most once", "[actors]") {
  auto st = make_shard(consistency_model::bsp);
  std::vector<float> g{1, 1, 1};
  REQUIRE_FALSE(st.push(0, 0, g.data(), 1));
  CHECK(st.push(0, 0, g.data(), 1));  // same clock again, round still open
  CHECK(st.push(0, 1, g.data(), 1));  // ahead of the round
  CHECK(st.push(7, 0, g.data(), 1));  // not a member
  REQUIRE_FALSE(st.push(1, 0, g.data(), 1));
  CHECK(st.version() == 1);
  CHECK(st.push(1, 0, g.data(), 1));  // a finished round's clock
  CHECK(st.params()[0] == Approx(0.5));
}

TEST_CASE("shard_state: BSP completes a round at once when the last missing worker leaves",
          "[actors]") {
  auto st = make_shard(consistency_model::bsp, 0, 3);
  std::vector<float> g{2, 2, 2};
  REQUIRE_FALSE(st.push(0, 0, g.data(), 4));
  REQUIRE_FALSE(st.push(2, 0, g.data(), 4));
  CHECK(st.version() == 0);
  st.leave(1);
  CHECK(st.version() == 1);
  CHECK(st.params()[0] == Approx(0.0));
  CHECK(st.members() == 2);
  // A worker joining later takes part from the current round on.
  st.join(5, st.version());
  REQUIRE_FALSE(st.push(0, 1, g.data(), 1));
  REQUIRE_FALSE(st.push(2, 1, g.data(), 1));
  CHECK(st.version() == 1);
  REQUIRE_FALSE(st.push(5, 1, g.data(), 1));
  CHECK(st.version() == 2);
}

TEST_CASE("shard_state: SSP lets a reader run at most s clocks ahead of the slowest",
          "[actors]") {
  auto st = make_shard(consistency_model::ssp, 2);
  std::vector<float> g{1, 0, 0};
  // worker 0 runs ahead; worker 1 stays at clock 0
  for (uint64_t c = 0; c < 3; ++c) {
    CHECK(st.pull_ready(c) == (c <= 2));
    REQUIRE_FALSE(st.push(0, c, g.data(), 1));
  }
  CHECK(st.version() == 3);  // applied on arrival
  CHECK_FALSE(st.pull_ready(3));
  REQUIRE_FALSE(st.push(1, 0, g.data(), 1));
  CHECK(st.pull_ready(3));
  CHECK_FALSE(st.pull_ready(4));
  st.leave(1);  // nobody left to wait for but worker 0 itself
  CHECK(st.pull_ready(5));
}

TEST_CASE("shard_state: ASP applies on arrival and never makes a pull wait", "[actors]") {
  auto st = make_shard(consistency_model::asp);
  std::vector<float> g{2, 0, 0};
  REQUIRE_FALSE(st.push(0, 0, g.data(), 1));
  CHECK(st.version() == 1);
  CHECK(st.params()[0] == Approx(0.0));
  CHECK(st.pull_ready(1000));
}
