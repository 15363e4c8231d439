// Pipeline replicas in the supervisor: placing a replica's stages in chain order, and losing
// and restarting a whole replica when one of its stages fails.
#include <algorithm>
#include <memory>

#include <caf/event_based_actor.hpp>

#include "actors/supervisor_actor.hpp"
#include "messages/atoms.hpp"

namespace herd::actors {

namespace {

std::vector<uint32_t> replica_ids(supervisor_self self, uint32_t r) {
  auto k = uint32_t(self->state.plan.stage_count());
  std::vector<uint32_t> ids;
  for (uint32_t s = 0; s < k; ++s)
    ids.push_back(r * k + s);
  return ids;
}

std::string node_of(supervisor_self self, uint32_t id) {
  auto& st = self->state;
  auto it = st.worker_nodes.find(id);
  if (it != st.worker_nodes.end())
    return live_node(self, it->second);
  return live_node(self, id < st.in.cfg.workers.size() ? st.in.cfg.workers[id].node : "");
}

// Places stage `stage` of replica `r` (and, once it runs, the stage before it).
void place_stage(supervisor_self self, uint32_t r, int stage, uint64_t clock, caf::actor next,
                 std::function<void()> placed) {
  auto k = uint32_t(self->state.plan.stage_count());
  uint32_t id = r * k + uint32_t(stage);
  auto node = node_of(self, id);
  if (node.empty())
    return fail_job(self, make_error(errc::actor_failed,
                                     "no live node for stage " + std::to_string(stage)
                                       + " of replica " + std::to_string(r)));
  place_worker(
    self, node, id, clock,
    [=] {
      placed();
      if (stage == 0)
        return;
      auto& st = self->state;
      auto it = st.workers.find(id);
      place_stage(self, r, stage - 1, clock, it == st.workers.end() ? caf::actor{} : it->second,
                  placed);
    },
    {}, std::move(next));
}

} // namespace

void place_replica(supervisor_self self, uint32_t r, uint64_t clock,
                   std::function<void()> placed) {
  place_stage(self, r, self->state.plan.stage_count() - 1, clock, {}, std::move(placed));
}

void stage_lost(supervisor_self self, uint32_t id, const caf::error& reason) {
  auto& st = self->state;
  auto k = uint32_t(st.plan.stage_count());
  uint32_t r = id / k;
  size_t back = 0;
  for (auto s : replica_ids(self, r)) {
    if (auto it = st.workers.find(s); it != st.workers.end() && s != id) {
      // The replica's other stages end too; their last messages and down messages are ignored.
      st.retired.insert(it->second.address());
      st.worker_ids.erase(it->second.address());
      self->send_exit(it->second, caf::exit_reason::kill);
    }
    st.workers.erase(s);
    if (!st.core->is_active(s))
      continue;
    back += st.core->worker_lost(s);
    for (auto i : st.plan.shards_of(s))
      self->request(st.shards[i], request_timeout, leave_atom::value, s)
        .then([](uint64_t) {},
              [=](caf::error& err) {
                log(self, "stage " + std::to_string(s) + " could not leave shard "
                            + std::to_string(i) + ": " + describe(err));
              });
  }
  log(self, "stage " + std::to_string(id % k) + " of replica " + std::to_string(r)
              + " (worker " + std::to_string(id) + ") failed (" + describe(reason)
              + "); the replica is stopped, " + std::to_string(back)
              + " uncommitted minibatch(es) returned to the dispenser");
  const auto& sup = st.in.cfg.supervisor;
  uint32_t head = r * k;
  if (sup.restart != config::restart_policy::never && st.restarts[head] < sup.max_restarts
      && !st.ending) {
    int n = 0;
    for (auto s : replica_ids(self, r)) { // every stage comes back as a new incarnation
      n = ++st.restarts[s];
      st.restarting.insert(s);
      st.failed_at_s[s] = st.core->elapsed_s();
    }
    auto delay = std::chrono::milliseconds(100 << std::min(n - 1, 6));
    self->delayed_send(self, delay, restart_atom::value, head);
    return;
  }
  maybe_finish_after_loss(self, id);
}

void restart_replica(supervisor_self self, uint32_t r) {
  auto& st = self->state;
  auto ids = replica_ids(self, r);
  if (st.ending || st.restarting.count(ids.front()) == 0)
    return;
  auto done = [=](const std::string& outcome) {
    for (auto s : ids)
      self->state.restarting.erase(s);
    log(self, "replica " + std::to_string(r) + " " + outcome);
    if (outcome.rfind("restart failed", 0) == 0)
      maybe_finish_after_loss(self, ids.front());
  };
  // Two clocks past the furthest any shard knows (as join_new_worker): no round at that clock
  // can be complete yet.
  auto highest = std::make_shared<uint64_t>(0);
  auto left = std::make_shared<size_t>(st.shards.size());
  auto failed = std::make_shared<caf::error>();
  auto joined = [=] {
    auto& st = self->state;
    if (*failed)
      return done("restart failed: " + describe(*failed));
    // Shards whose members all left (every replica lost at once) know no clock: the highest
    // any stage reported stands in, so the job's clock never goes back.
    uint64_t clock = std::max(*highest, st.core->max_clock()) + 2;
    auto joins = std::make_shared<size_t>(0);
    for (auto s : ids)
      *joins += st.plan.shards_of(s).size();
    auto placed_left = std::make_shared<size_t>(ids.size());
    auto all_joined = [=] {
      if (--*joins > 0)
        return;
      if (*failed) { // a shard refused the clock: the replica leaves again and stays out
        for (auto s : ids)
          for (auto i : self->state.plan.shards_of(s))
            self->send(self->state.shards[i], leave_atom::value, s);
        return done("restart failed: " + describe(*failed));
      }
      for (auto s : ids)
        self->state.core->add_worker(s, clock);
      place_replica(self, r, clock, [=] {
        if (--*placed_left == 0)
          done("restarted; its stages join at clock " + std::to_string(clock));
      });
    };
    for (auto s : ids)
      for (auto i : st.plan.shards_of(s))
        self->request(st.shards[i], request_timeout, join_atom::value, s, clock)
          .then([=](uint64_t) { all_joined(); },
                [=](caf::error& err) {
                  *failed = std::move(err);
                  all_joined();
                });
  };
  for (auto& s : st.shards)
    self->request(s, request_timeout, status_atom::value)
      .then(
        [=](uint64_t clock) {
          *highest = std::max(*highest, clock);
          if (--*left == 0)
            joined();
        },
        [=](caf::error& err) {
          *failed = std::move(err);
          if (--*left == 0)
            joined();
        });
}

} // namespace herd::actors
