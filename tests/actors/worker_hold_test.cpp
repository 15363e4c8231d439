// A worker (or pipeline stage) asked to hold for a checkpoint while it waits for a pull that the hold itself blocks:
// one that joined past the hold's clock (added as the checkpoint began) waits under BSP for a
// round the other workers, holding, never finish. It must hold where it stands instead.
#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/job_parts.hpp"
#include "actors/system_config.hpp"
#include "messages/atoms.hpp"
#include "messages/types.hpp"
#include "tests/actors/small_job.hpp"

using namespace herd;
using namespace std::chrono_literals;

namespace {

// Joins worker `id` to `shard` at `clock`.
void join(caf::scoped_actor& self, const caf::actor& shard, uint32_t id, uint64_t clock) {
  bool joined = false;
  self->request(shard, 5s, join_atom::value, id, clock)
    .receive([&](uint64_t) { joined = true; }, [&](caf::error&) {});
  REQUIRE(joined);
}

// Waits until each of `shards` holds one deferred pull (the actor waits for them).
void wait_for_deferred_pulls(caf::scoped_actor& self, const std::vector<caf::actor>& shards) {
  auto waiting = [&] {
    uint64_t n = 0;
    for (auto& s : shards)
      self->request(s, 5s, stats_atom::value)
        .receive([&](const messages::shard_stats& st) { n += st.waiting_pulls; },
                 [&](caf::error&) {});
    return n == shards.size();
  };
  auto until = std::chrono::steady_clock::now() + 10s;
  while (!waiting() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  REQUIRE(waiting());
}

// Asks `who` to hold before the step of clock 0 (where the others hold) and checks that it
// reports itself held at once where it stands: worker `id` at `clock`, no step taken.
void check_held_where_it_stands(caf::scoped_actor& self, const caf::actor& who, uint32_t id,
                                uint64_t clock) {
  self->send(who, hold_atom::value, uint64_t{0});
  bool held = false;
  self->receive([&](held_atom, const messages::worker_place& at) {
                  held = true;
                  CHECK(at.worker == id);
                  CHECK(at.clock == clock);
                  CHECK_FALSE(at.has_chunk);
                },
                caf::after(10s) >> [] {});
  CHECK(held);
}

} // namespace

TEST_CASE("worker: a hold below the clock it waits to pull at is reported at once, from there",
          "[actors]") {
  auto in = test::small_job(); // BSP, 2 shards
  auto plan = actors::plan_job(in.cfg);
  auto codecs = std::make_shared<kernels::compress::codec_registry>(
    kernels::compress::default_codecs());
  actors::system_config scfg;
  caf::actor_system sys{scfg};
  caf::scoped_actor self{sys};
  // Worker 0 is a member at clock 0 that never pushes: round 0 stays open.
  std::vector<caf::actor> shards;
  for (uint32_t i = 0; i < plan.slices.size(); ++i) {
    auto s = actors::make_shard(sys, plan, codecs, i, 1000, {0});
    REQUIRE(s);
    shards.push_back(*s);
    join(self, *s, 2, 1);
  }
  auto w = actors::make_worker(sys, plan, *codecs, in.train, 2, 1, shards,
                               caf::actor_cast<caf::actor>(self));
  REQUIRE(w);
  wait_for_deferred_pulls(self, shards); // its pull of clock 1: round 0 is open
  check_held_where_it_stands(self, *w, 2, 1);
  self->send_exit(*w, caf::exit_reason::user_shutdown);
  for (auto& s : shards)
    self->send_exit(s, caf::exit_reason::user_shutdown);
}

TEST_CASE("stage: a hold below the clock it waits to pull at is reported at once, from there",
          "[actors]") {
  auto in = test::small_job(); // BSP
  in.cfg.parallelism.pipeline_stages = 2;
  in.cfg.parallelism.micro_batches = 2;
  in.cfg.workers.assign(2, config::worker_config{"local", "cpu", {}}); // replica 0: ids 0, 1
  auto plan = actors::plan_job(in.cfg);
  REQUIRE(plan.pipelined());
  auto codecs = std::make_shared<kernels::compress::codec_registry>(
    kernels::compress::default_codecs());
  actors::system_config scfg;
  caf::actor_system sys{scfg};
  caf::scoped_actor self{sys};
  // Replica 0's stages are members at clock 0 and never push. Replica 1's last stage (id 3)
  // joins its shards at clock 1.
  std::vector<caf::actor> shards;
  std::vector<caf::actor> own;
  for (uint32_t i = 0; i < plan.slices.size(); ++i) {
    auto stage = uint32_t(plan.shard_stage[i]);
    auto s = actors::make_shard(sys, plan, codecs, i, 1000, {stage});
    REQUIRE(s);
    shards.push_back(*s);
    if (stage != 1)
      continue;
    own.push_back(*s);
    join(self, *s, 3, 1);
  }
  REQUIRE_FALSE(own.empty());
  auto st = actors::make_stage(sys, plan, *codecs, in.train, 3, 1, shards, caf::actor{},
                               caf::actor_cast<caf::actor>(self));
  REQUIRE(st);
  wait_for_deferred_pulls(self, own);
  check_held_where_it_stands(self, *st, 3, 1);
  self->send_exit(*st, caf::exit_reason::user_shutdown);
  for (auto& s : shards)
    self->send_exit(s, caf::exit_reason::user_shutdown);
}

namespace {

// Replica 1 (ids 2, 3) of a 2-stage BSP job, stage `stage` alone: its shards also hold replica
// 0's stage, a member at clock 0 that never pushes, so its pull of clock 1 waits.
struct lone_stage {
  caf::actor_system& sys;
  caf::scoped_actor& self;
  std::vector<caf::actor> shards;
  std::vector<caf::actor> own;
  caf::actor stage;

  lone_stage(caf::actor_system& sys, caf::scoped_actor& self, uint32_t stage_index)
    : sys(sys), self(self) {
    auto in = test::small_job();
    in.cfg.parallelism.pipeline_stages = 2;
    in.cfg.parallelism.micro_batches = 2;
    in.cfg.workers.assign(2, config::worker_config{"local", "cpu", {}});
    auto plan = actors::plan_job(in.cfg);
    REQUIRE(plan.pipelined());
    auto codecs = std::make_shared<kernels::compress::codec_registry>(
      kernels::compress::default_codecs());
    for (uint32_t i = 0; i < plan.slices.size(); ++i) {
      auto at = uint32_t(plan.shard_stage[i]);
      auto s = actors::make_shard(sys, plan, codecs, i, 1000, {at});
      REQUIRE(s);
      shards.push_back(*s);
      if (at != stage_index)
        continue;
      own.push_back(*s);
      join(self, *s, 2 + stage_index, 1);
    }
    REQUIRE_FALSE(own.empty());
    // The test is both the supervisor and, for stage 0, the next stage.
    auto me = caf::actor_cast<caf::actor>(self);
    auto st = actors::make_stage(sys, plan, *codecs, in.train, 2 + stage_index, 1, shards,
                                 stage_index == 0 ? me : caf::actor{}, me);
    REQUIRE(st);
    stage = *st;
    wait_for_deferred_pulls(self, own);
  }
  ~lone_stage() {
    self->send_exit(stage, caf::exit_reason::user_shutdown);
    for (auto& s : shards)
      self->send_exit(s, caf::exit_reason::user_shutdown);
  }
};

} // namespace

// QA: a replica restarted while a ctl checkpoint began hung the job. Its stage 1, placed first,
// had pulled the join clock before the supervisor's hold reached it, and waited for activations;
// stage 0 held at that clock and sent none. Neither moved, the checkpoint never completed.
TEST_CASE("stage: a later stage told to hold at the clock it pulled already holds there",
          "[actors][faults]") {
  actors::system_config scfg;
  caf::actor_system sys{scfg};
  caf::scoped_actor self{sys};
  lone_stage s{sys, self, 1};
  // Replica 0's stage leaves: round 0 is complete and the shards answer the pull of clock 1.
  // The answers are in the stage's mailbox before the leaves are answered, so before the hold.
  for (auto& shard : s.own) {
    bool left = false;
    self->request(shard, 5s, leave_atom::value, uint32_t{1})
      .receive([&](uint64_t) { left = true; }, [&](caf::error&) {});
    REQUIRE(left);
  }
  // Stage 0 (this test) holds at clock 1 and says so: no activations of clock 1 come.
  check_held_where_it_stands(self, s.stage, 3, 1);
}

TEST_CASE("stage: stage 0 holding tells the next stage where, and a stop ends it there",
          "[actors][faults]") {
  actors::system_config scfg;
  caf::actor_system sys{scfg};
  caf::scoped_actor self{sys};
  lone_stage s{sys, self, 0};
  self->send(s.stage, hold_atom::value, uint64_t{0});
  std::optional<uint64_t> told;
  bool held = false;
  for (int i = 0; i < 2; ++i)
    self->receive([&](hold_atom, uint64_t clock) { told = clock; },
                  [&](held_atom, const messages::worker_place& at) { held = at.clock == 1; },
                  caf::after(10s) >> [] {});
  CHECK(told == uint64_t{1});
  CHECK(held);
  // Its pull waits for a resume that a checkpoint which cannot complete never sends.
  self->send(s.stage, stop_atom::value);
  bool ended_chain = false, finished = false;
  for (int i = 0; i < 2; ++i)
    self->receive([&](stage_end_atom) { ended_chain = true; },
                  [&](finished_atom, uint32_t worker, uint64_t clock, uint64_t, uint64_t,
                      uint64_t) { finished = worker == 2 && clock == 1; },
                  caf::after(10s) >> [] {});
  CHECK(ended_chain);
  CHECK(finished);
}
