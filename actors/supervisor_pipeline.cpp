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

// Places stage `stage` of replica `r` (and, once it runs, the stage before it); `starts`: where
// each stage resumes (by stage; empty for a fresh start).
void place_stage(supervisor_self self, uint32_t r, int stage, uint64_t clock, caf::actor next,
                 std::function<void()> placed,
                 std::shared_ptr<const std::vector<messages::worker_place>> starts) {
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
                  placed, starts);
    },
    size_t(stage) < starts->size() ? (*starts)[size_t(stage)] : messages::worker_place{},
    std::move(next));
}

} // namespace

void place_replica(supervisor_self self, uint32_t r, uint64_t clock, std::function<void()> placed,
                   std::vector<messages::worker_place> starts) {
  place_stage(self, r, self->state.plan.stage_count() - 1, clock, {}, std::move(placed),
              std::make_shared<const std::vector<messages::worker_place>>(std::move(starts)));
}

namespace {

// The replica's other stages have stopped (or were ended): its stages leave their shards, stage
// 0's uncommitted minibatch goes back, and the replica restarts per policy.
void replica_stopped(supervisor_self self, uint32_t id, const caf::error& reason) {
  auto& st = self->state;
  auto k = uint32_t(st.plan.stage_count());
  uint32_t r = id / k;
  st.aborting_replicas.erase(r);
  size_t back = 0;
  for (auto s : replica_ids(self, r)) {
    if (auto it = st.workers.find(s); it != st.workers.end() && s != id) {
      // Did not answer the abort: ended; its last messages and down message are ignored.
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
  for (auto s : replica_ids(self, r)) // a checkpoint under way no longer waits for them
    checkpoint_worker_gone(self, s);
  log(self, "stage " + std::to_string(id % k) + " of replica " + std::to_string(r)
              + " (worker " + std::to_string(id) + ") failed (" + describe(reason)
              + "); the replica is stopped, " + std::to_string(back)
              + " uncommitted minibatch(es) returned to the dispenser");
  const auto& sup = st.in.cfg.supervisor;
  uint32_t head = r * k;
  if (st.removing.count(head) > 0)
    log(self, "replica " + std::to_string(r) + " is not restarted: it was being removed");
  else if (sup.restart != config::restart_policy::never && st.restarts[head] < sup.max_restarts
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

} // namespace

void stage_lost(supervisor_self self, uint32_t id, const caf::error& reason) {
  auto& st = self->state;
  auto k = uint32_t(st.plan.stage_count());
  uint32_t r = id / k;
  if (!st.aborting_replicas.insert(r).second)
    return; // a second stage of a replica being stopped: replica_stopped covers it
  // The other stages stop between two messages, each answering once it has: what they sent
  // before (a commit's pushes, stage 0's chunk done) reaches the shards and this supervisor
  // before the replica leaves its shards and its data is reclaimed. Killing them instead could
  // cut a commit in half between a stage's shards and count its minibatch twice.
  std::vector<caf::actor> live;
  for (auto s : replica_ids(self, r))
    if (auto it = st.workers.find(s); it != st.workers.end() && s != id)
      live.push_back(it->second);
  if (live.empty())
    return replica_stopped(self, id, reason);
  auto left = std::make_shared<size_t>(live.size());
  auto one_done = [=] {
    if (--*left == 0)
      replica_stopped(self, id, reason);
  };
  for (auto& a : live)
    self->request(a, std::chrono::seconds(10), stage_abort_atom::value)
      .then(
        [=](uint64_t) {
          auto& st = self->state;
          st.retired.insert(a.address()); // its down message (normal) is expected
          st.worker_ids.erase(a.address());
          for (auto it = st.workers.begin(); it != st.workers.end(); ++it)
            if (it->second == a) {
              st.workers.erase(it);
              break;
            }
          one_done();
        },
        [=](caf::error&) { one_done(); }); // gone already, or stuck: replica_stopped ends it
}

void join_replica(supervisor_self self, uint32_t r,
                  std::function<void(expected<uint64_t>)> done) {
  auto& st = self->state;
  auto ids = replica_ids(self, r);
  // Two clocks past the furthest any shard knows (as join_new_worker): no round at that clock
  // can be complete yet.
  auto highest = std::make_shared<uint64_t>(0);
  auto left = std::make_shared<size_t>(st.shards.size());
  auto failed = std::make_shared<caf::error>();
  auto joined = [=] {
    auto& st = self->state;
    if (*failed)
      return done(*failed);
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
            leave_shard(self, self->state.shards[i], s);
        return done(*failed);
      }
      for (auto s : ids)
        self->state.core->add_worker(s, clock);
      place_replica(self, r, clock, [=] {
        if (--*placed_left == 0)
          done(clock);
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

void restart_replica(supervisor_self self, uint32_t r) {
  auto& st = self->state;
  auto ids = replica_ids(self, r);
  if (st.ending || st.restarting.count(ids.front()) == 0)
    return;
  join_replica(self, r, [=](expected<uint64_t> clock) {
    for (auto s : ids)
      self->state.restarting.erase(s);
    if (!clock) {
      log(self, "replica " + std::to_string(r) + " restart failed: " + describe(clock.error()));
      return maybe_finish_after_loss(self, ids.front());
    }
    log(self, "replica " + std::to_string(r) + " restarted; its stages join at clock "
                + std::to_string(*clock));
    // Its stages run before their spawn replies are in: they may have used up the data and
    // finished already, and their `finished` found the restart still under way.
    maybe_finish(self);
  });
}

} // namespace herd::actors
