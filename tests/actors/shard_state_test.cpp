#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
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
  REQUIRE_FALSE(st.push(0, 0, 0, g0.data(), 10));
  CHECK(st.version() == 0);
  CHECK(st.params() == std::vector<float>{1, 2, 3}); // nothing applied yet
  CHECK_FALSE(st.pull_ready(1));
  REQUIRE_FALSE(st.push(1, 0, 0, g1.data(), 30));
  CHECK(st.version() == 1);
  CHECK(st.pull_ready(1));
  CHECK_FALSE(st.pull_ready(2));
  // mean = (10*g0 + 30*g1) / 40 = {3.25, 3.25, -1.25}; w -= 0.5 * mean
  CHECK(st.params()[0] == Approx(1 - 0.5 * 3.25));
  CHECK(st.params()[1] == Approx(2 - 0.5 * 3.25));
  CHECK(st.params()[2] == Approx(3 + 0.5 * 1.25));
  CHECK(st.staleness().max() == 0);
  CHECK(st.staleness().count() == 2);
}

TEST_CASE("shard_state: a BSP round sums in data order, whatever order its pushes arrive in",
          "[actors]") {
  // 1e8 + (-1e8) + 1 is 1 in that order, and 0 when the 1 comes first or second (1e8 + 1
  // rounds to 1e8 in float): summed in arrival order, the parameters would follow the network.
  struct push_t {
    uint32_t worker;
    float g;
    uint64_t key;
  };
  std::vector<push_t> pushes{{0, 1e8f, 5}, {1, 1.0f, 9}, {2, -1e8f, 7}}; // data order 0, 2, 1
  std::vector<size_t> order{0, 1, 2};
  int orders = 0;
  do {
    shard_state st{0, 0, {0.0f}, plain_sgd(3.0), consistency_rule{consistency_model::bsp, 0}};
    for (uint32_t w = 0; w < 3; ++w)
      st.join(w, 0);
    for (auto i : order)
      REQUIRE_FALSE(st.push(pushes[i].worker, 0, 0, &pushes[i].g, 1, pushes[i].key));
    INFO("arrival order " << order[0] << order[1] << order[2]);
    REQUIRE(st.version() == 1);
    CHECK(st.params()[0] == -1.0f); // 0 - 3 * (1e8 - 1e8 + 1) / 3
    ++orders;
  } while (std::next_permutation(order.begin(), order.end()));
  CHECK(orders == 6);
}

TEST_CASE("shard_state: pushes of one data key are summed in worker order", "[actors]") {
  std::vector<float> a{1e8f}, b{1.0f}, c{-1e8f};
  for (bool reversed : {false, true}) {
    shard_state st{0, 0, {0.0f}, plain_sgd(3.0), consistency_rule{consistency_model::bsp, 0}};
    for (uint32_t w = 0; w < 3; ++w)
      st.join(w, 0);
    // Workers 0 (1e8), 2 (-1e8), then 1 (1.0): the sum is 1.
    if (reversed) {
      REQUIRE_FALSE(st.push(1, 0, 0, b.data(), 1, 4));
      REQUIRE_FALSE(st.push(2, 0, 0, c.data(), 1, 3));
      REQUIRE_FALSE(st.push(0, 0, 0, a.data(), 1, 3));
    } else {
      REQUIRE_FALSE(st.push(0, 0, 0, a.data(), 1, 3));
      REQUIRE_FALSE(st.push(1, 0, 0, b.data(), 1, 4));
      REQUIRE_FALSE(st.push(2, 0, 0, c.data(), 1, 3));
    }
    INFO("reversed " << reversed);
    CHECK(st.params()[0] == -1.0f);
  }
}

TEST_CASE("shard_state: a push is applied at most once", "[actors]") {
  auto st = make_shard(consistency_model::bsp);
  std::vector<float> g{1, 1, 1};
  REQUIRE_FALSE(st.push(0, 0, 0, g.data(), 1));
  CHECK(st.push(0, 0, 0, g.data(), 1)); // same clock again, round still open
  CHECK(st.push(0, 5, 0, g.data(), 1)); // a clock it has not reached
  CHECK(st.push(7, 0, 0, g.data(), 1)); // not a member
  REQUIRE_FALSE(st.push(1, 0, 0, g.data(), 1));
  CHECK(st.version() == 1);
  CHECK(st.push(1, 0, 0, g.data(), 1)); // a finished round's clock
  CHECK(st.pushes_accepted() == 2);
  CHECK(st.params()[0] == Approx(0.5));
}

TEST_CASE("shard_state: BSP completes a round at once when the last missing worker leaves",
          "[actors]") {
  auto st = make_shard(consistency_model::bsp, 0, 3);
  std::vector<float> g{2, 2, 2};
  REQUIRE_FALSE(st.push(0, 0, 0, g.data(), 4));
  REQUIRE_FALSE(st.push(2, 0, 0, g.data(), 4));
  CHECK(st.version() == 0);
  CHECK(st.open_rounds() == 1);
  st.leave(1);
  CHECK(st.version() == 1);
  CHECK(st.open_rounds() == 0);
  CHECK(st.params()[0] == Approx(0.0));
  CHECK(st.members() == 2);
  // A worker joining later takes part from the current round on.
  st.join(5, 1);
  REQUIRE_FALSE(st.push(0, 1, 1, g.data(), 1));
  REQUIRE_FALSE(st.push(2, 1, 1, g.data(), 1));
  CHECK(st.version() == 1);
  REQUIRE_FALSE(st.push(5, 1, 1, g.data(), 1));
  CHECK(st.version() == 2);
}

TEST_CASE("shard_state: SSP lets a reader run at most s clocks ahead of the slowest",
          "[actors]") {
  auto st = make_shard(consistency_model::ssp, 2);
  std::vector<float> g{1, 0, 0};
  // worker 0 runs ahead; worker 1 stays at clock 0
  for (uint64_t c = 0; c < 3; ++c) {
    CHECK(st.pull_ready(c) == (c <= 2));
    REQUIRE_FALSE(st.push(0, c, st.version(), g.data(), 1));
  }
  CHECK(st.version() == 3); // applied on arrival
  CHECK_FALSE(st.pull_ready(3));
  REQUIRE_FALSE(st.push(1, 0, 0, g.data(), 1)); // read version 0, applied at version 3
  CHECK(st.staleness().max() == 3);
  CHECK(st.pull_ready(3));
  CHECK_FALSE(st.pull_ready(4));
  st.leave(1); // nobody left to wait for but worker 0 itself
  CHECK(st.pull_ready(5));
}

TEST_CASE("shard_state: SSP with s = 0 aggregates rounds exactly like BSP", "[actors]") {
  auto bsp = make_shard(consistency_model::bsp);
  auto ssp0 = make_shard(consistency_model::ssp, 0);
  std::vector<float> g0{1, -2, 3}, g1{0.5f, 4, -1};
  for (auto* st : {&bsp, &ssp0}) {
    for (uint64_t c = 0; c < 3; ++c) {
      REQUIRE_FALSE(st->push(0, c, c, g0.data(), 3));
      CHECK_FALSE(st->pull_ready(c + 1));
      REQUIRE_FALSE(st->push(1, c, c, g1.data(), 5));
      CHECK(st->pull_ready(c + 1));
    }
  }
  CHECK(bsp.params() == ssp0.params());
  CHECK(bsp.version() == ssp0.version());
}

TEST_CASE("shard_state: ASP applies on arrival and never makes a pull wait", "[actors]") {
  auto st = make_shard(consistency_model::asp);
  std::vector<float> g{2, 0, 0};
  REQUIRE_FALSE(st.push(0, 0, 0, g.data(), 1));
  CHECK(st.version() == 1);
  CHECK(st.params()[0] == Approx(0.0));
  CHECK(st.pull_ready(1000));
}

TEST_CASE("shard_state: staleness-aware steps divide the learning rate by the staleness",
          "[actors]") {
  shard_state st{0, 0, {0.0f}, plain_sgd(1.0),
                 consistency_rule{consistency_model::asp, 0, true}};
  st.join(0, 0);
  st.join(1, 0);
  std::vector<float> g{1};
  REQUIRE_FALSE(st.push(0, 0, 0, g.data(), 1)); // staleness 0: full step
  REQUIRE_FALSE(st.push(0, 1, 1, g.data(), 1)); // staleness 0
  REQUIRE_FALSE(st.push(0, 2, 2, g.data(), 1)); // staleness 0
  CHECK(st.params()[0] == Approx(-3.0));
  REQUIRE_FALSE(st.push(1, 0, 0, g.data(), 1)); // read version 0, now 3: a third of a step
  CHECK(st.params()[0] == Approx(-3.0 - 1.0 / 3.0));
}

TEST_CASE("shard_state: leaving BSP applies the open round, entering it waits for all",
          "[actors]") {
  auto st = make_shard(consistency_model::bsp);
  std::vector<float> g{1, 1, 1};
  REQUIRE_FALSE(st.push(0, 0, 0, g.data(), 1));
  CHECK(st.version() == 0);
  st.set_rule(consistency_rule{consistency_model::asp, 0});
  CHECK(st.version() == 1); // worker 0's push of the open round, applied alone
  CHECK(st.open_rounds() == 0);
  REQUIRE_FALSE(st.push(1, 0, 0, g.data(), 1)); // applied on arrival
  REQUIRE_FALSE(st.push(0, 1, 2, g.data(), 1));
  REQUIRE_FALSE(st.push(0, 2, 3, g.data(), 1));
  CHECK(st.version() == 4);
  // Back to BSP: worker 0 is at clock 3, worker 1 at clock 1.
  st.set_rule(consistency_rule{consistency_model::bsp, 0});
  CHECK_FALSE(st.pull_ready(3));
  REQUIRE_FALSE(st.push(1, 1, 4, g.data(), 1)); // round 1: only worker 1 still owes it
  CHECK(st.version() == 5);
  REQUIRE_FALSE(st.push(1, 2, 5, g.data(), 1));
  CHECK(st.pull_ready(3));
  REQUIRE_FALSE(st.push(0, 3, 6, g.data(), 1));
  CHECK(st.version() == 6);
  CHECK(st.open_rounds() == 1);
  CHECK(st.pushes_accepted() == 7);
}

TEST_CASE("staleness_histogram: quantiles and merge", "[actors]") {
  herd::actors::staleness_histogram h;
  for (uint64_t v = 0; v < 100; ++v)
    h.add(v);
  CHECK(h.quantile(0.5) == 49);
  CHECK(h.quantile(0.99) == 98);
  CHECK(h.max() == 99);
  herd::actors::staleness_histogram other;
  other.merge(h.counts(), h.max());
  CHECK(other.count() == 100);
  h.add(5000);
  CHECK(h.max() == 5000);
  CHECK(h.counts().size() == herd::actors::staleness_histogram::cap);
}

TEST_CASE("shard_state: a skipped step advances the clock and applies nothing", "[actors]") {
  auto st = make_shard(consistency_model::bsp);
  std::vector<float> g{2, 2, 2};
  REQUIRE_FALSE(st.push(0, 0, 0, g.data(), 4));
  CHECK_FALSE(st.pull_ready(1));
  REQUIRE_FALSE(st.skip(1, 0)); // worker 1 overflowed: round 0 is worker 0's push alone
  CHECK(st.version() == 1);
  CHECK(st.params()[0] == Approx(0.0));
  CHECK(st.pull_ready(1));
  CHECK(st.skip(1, 0));  // at most once, like a push
  CHECK(st.skip(9, 1));  // not a member
  REQUIRE_FALSE(st.skip(0, 1));
  REQUIRE_FALSE(st.skip(1, 1)); // both skipped round 1: nothing applied, the clocks go on
  CHECK(st.version() == 1);
  CHECK(st.open_rounds() == 0);
  CHECK(st.pull_ready(2));
  CHECK(st.steps_skipped() == 3);
  CHECK(st.pushes_accepted() == 1);
}

TEST_CASE("shard_state: under BSP the parameters at each evaluation clock are kept for it",
          "[actors]") {
  auto st = make_shard(consistency_model::bsp, 0, 1);
  st.keep_every(2);
  std::vector<float> g{1.0f, 1.0f, 1.0f};
  std::vector<std::vector<float>> at(5);
  at[0] = st.params();
  for (uint64_t c = 0; c < 4; ++c) {
    REQUIRE_FALSE(st.push(0, c, c, g.data(), 1));
    at[c + 1] = st.params();
  }
  CHECK(st.version() == 4);
  CHECK_FALSE(st.take_kept(1)); // not an evaluation clock
  auto two = st.take_kept(2);   // read after two more rounds: still exactly version 2
  REQUIRE(two);
  CHECK(*two == at[2]);
  CHECK(*two != st.params());
  CHECK_FALSE(st.take_kept(2)); // handed out once
  auto four = st.take_kept(4);
  REQUIRE(four);
  CHECK(*four == at[4]);
}

TEST_CASE("shard_state: the cosine schedule follows samples, across a BSP to ASP switch",
          "[actors]") {
  // 2 workers at batch 8 over 64 samples: 4 BSP rounds, or 8 ASP pushes. Two rounds under
  // BSP, then the rest under ASP: the lr must decay over the samples, reaching 0 only at the
  // end (a schedule counting optimizer steps would hit 0 halfway through the ASP pushes).
  auto opt = plain_sgd(1.0);
  opt.schedule = herd::config::lr_schedule::cosine;
  constexpr uint64_t horizon = 64;
  shard_state st{0, 0, {0.0f}, opt, consistency_rule{consistency_model::bsp, 0}, horizon};
  st.join(0, 0);
  st.join(1, 0);
  std::vector<float> one{1.0f};
  auto lr_at = [](uint64_t samples) {
    return 0.5 * (1.0 + std::cos(3.141592653589793 * double(samples) / double(horizon)));
  };
  double want = 0;
  float before = 0;
  for (uint64_t clock = 0; clock < 2; ++clock) {
    REQUIRE_FALSE(st.push(0, clock, clock, one.data(), 8));
    REQUIRE_FALSE(st.push(1, clock, clock, one.data(), 8));
    want -= lr_at(16 * clock);
  }
  CHECK(st.params()[0] == Approx(want).epsilon(1e-6));
  st.set_rule(consistency_rule{consistency_model::asp, 0});
  uint64_t done = 32;
  for (uint64_t clock = 2; clock < 4; ++clock)
    for (uint32_t w = 0; w < 2; ++w) {
      before = st.params()[0];
      REQUIRE_FALSE(st.push(w, clock, st.version(), one.data(), 8));
      want -= lr_at(done);
      done += 8;
      CHECK(before - st.params()[0] > 0.0f); // still learning: the last push at lr(56/64)
    }
  CHECK(st.params()[0] == Approx(want).epsilon(1e-6));
  CHECK(st.version() == 6);
}
