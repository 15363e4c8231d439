// Resuming from a checkpoint (herd run --resume, and the roll-back after a lost shard): the
// job's state from the files, then every worker (every whole pipeline replica) where it stood,
// with what it carried to its next step.
#include <cstdio>
#include <map>

#include <caf/event_based_actor.hpp>

#include "actors/checkpoint_check.hpp"
#include "actors/consistency.hpp"
#include "actors/supervisor_actor.hpp"
#include "messages/atoms.hpp"
#include "messages/checkpoint_codec.hpp"

namespace herd::actors {

namespace {

// Where worker `w` of a checkpoint resumes: its place, and what it carried (validated against
// the job's slices).
expected<messages::worker_place> place_of(supervisor_self self, const worker_position& w) {
  messages::worker_place at{w.worker, w.clock, w.has_chunk, w.chunk.id, w.chunk.epoch,
                            w.chunk.indices, w.pos, {}};
  if (w.carried.empty())
    return at;
  std::vector<uint32_t> counts;
  for (const auto& s : self->state.plan.slices)
    counts.push_back(static_cast<uint32_t>(s.count));
  auto carried = messages::decode_carried_state(w.carried, counts);
  if (!carried)
    return make_error(errc::bad_format, "the checkpoint's state of worker "
                                          + std::to_string(w.worker) + ": "
                                          + describe(carried.error()));
  at.carried = std::move(*carried);
  return at;
}

// Pipeline jobs: each replica of the checkpoint comes back whole (its stages hold no chunk:
// stage 0 holds between two minibatches, each its own chunk).
void resume_replicas(supervisor_self self, const checkpoint& c, std::function<void()> started) {
  auto& st = self->state;
  auto k = uint32_t(st.plan.stage_count());
  std::map<uint32_t, std::vector<const worker_position*>> replicas;
  for (const auto& w : c.workers)
    replicas[w.worker / k].push_back(&w);
  size_t stages = 0;
  for (auto& [r, at] : replicas) {
    if (at.size() == k)
      stages += k;
    else // removed or lost while the checkpoint was taken: its stages leave their shards
      for (auto* w : at)
        for (auto i : st.plan.shards_of(w->worker))
          leave_shard(self, st.shards[i], w->worker);
  }
  if (stages == 0)
    return fail_job(self, make_error(errc::invalid_argument,
                                     "the checkpoint at clock " + std::to_string(c.clock)
                                       + " holds no whole pipeline replica"));
  auto resumed = countdown(stages, std::move(started));
  for (auto& [r, at] : replicas) {
    if (at.size() != k)
      continue;
    std::vector<messages::worker_place> starts(k);
    for (auto* w : at) {
      auto place = place_of(self, *w);
      if (!place)
        return fail_job(self, place.error());
      starts[w->worker % k] = std::move(*place);
      st.core->add_worker(w->worker, w->clock);
      st.worker_nodes[w->worker] = w->node;
    }
    place_replica(self, r, at.front()->clock, resumed, std::move(starts));
  }
}

} // namespace

bool begin_resume(supervisor_self self) {
  auto& st = self->state;
  auto& cfg = st.in.cfg;
  const auto& c = *st.in.resume;
  if (c.shards.size() != cfg.shards.size()) {
    fail_job(self, make_error(errc::config_invalid,
                              "the checkpoint has " + std::to_string(c.shards.size())
                                + " shard(s), the job " + std::to_string(cfg.shards.size())));
    return false;
  }
  // Its data position, workers and shards must fit this job's training set, slices and
  // optimizer, and each other: a worker would read samples past the set, shards wait forever.
  if (auto err = check_checkpoint(c, st.plan, *st.in.train)) {
    fail_job(self, err);
    return false;
  }
  auto rule = rule_from(c.rule);
  if (!rule) {
    fail_job(self, rule.error());
    return false;
  }
  // Exact-clock evaluations (BSP) need the job file's rule in force. The shards' versions may
  // differ from the clock (a rule changed before it, a resume from the end of training, steps
  // every member skipped): the shards keep evaluation clocks by clock, not by version.
  if (rule_name(*rule) != rule_name(st.rule))
    st.rule_changed = true;
  st.rule = *rule;
  st.core->restore(c.clock, c.data, c.samples, c.steps, c.skipped, c.wire);
  if (c.workers.empty() && st.core->data_used_up()) { // bad input: refused before it starts
    fail_job(self, make_error(errc::config_invalid,
                              "the checkpoint at clock " + std::to_string(c.clock)
                                + " was taken after training ended: nothing to resume (the "
                                  "job has no more epochs)"));
    return false;
  }
  // The restored parameters, measured before anything trains on them: they must score what
  // the checkpoint recorded when it was taken.
  auto acc = evaluate_snapshots(self, c.shards);
  if (!acc) {
    fail_job(self, acc.error());
    return false;
  }
  char line[160];
  std::snprintf(line, sizeof line,
                "resuming from the checkpoint at clock %llu: test accuracy %.2f%% (recorded "
                "when it was taken: %.2f%%)",
                (unsigned long long) c.clock, 100.0 * acc->accuracy, 100.0 * c.accuracy);
  log(self, line);
  // Job time: a resumed job's starts now; a roll-back's goes on (it never goes back).
  double now_s = st.on_start_called ? st.core->elapsed_s() : 0.0;
  messages::eval_report r{c.clock, c.samples, now_s, acc->loss, acc->accuracy, 0.0};
  auto e = st.core->eval_done(r);
  if (st.cb.on_eval)
    st.cb.on_eval(e);
  return true;
}

void resume_workers(supervisor_self self, std::function<void()> started) {
  auto& st = self->state;
  const auto& c = *st.in.resume;
  set_consistency(self, st.rule); // the rule in force when it was taken
  st.next_worker_id = c.next_worker_id;
  if (c.workers.empty()) { // taken at the end of training
    log(self, "the checkpoint at clock " + std::to_string(c.clock) + " holds no worker (taken "
                + "after training ended, or while every worker was down); the job has more to "
                  "train (epochs or max_steps): its workers start again");
    return join_file_workers(self, started);
  }
  // The checkpoint's workers go on; the job file's count does not add any (herd ctl does).
  if (!st.plan.pipelined() && st.in.cfg.workers.size() > c.workers.size())
    log(self, "the checkpoint holds " + std::to_string(c.workers.size()) + " worker(s): the "
                + std::to_string(st.in.cfg.workers.size() - c.workers.size())
                + " more of the job file are not started (herd ctl add-worker adds workers)");
  if (st.plan.pipelined())
    return resume_replicas(self, c, started);
  auto resumed = countdown(c.workers.size(), started);
  for (const auto& w : c.workers) {
    auto node = live_node(self, w.node);
    auto at = place_of(self, w);
    if (!at)
      return fail_job(self, at.error());
    st.core->resume_worker(w.worker, w.clock, w.has_chunk ? w.chunk.id : UINT64_MAX, w.pos);
    if (!w.device.empty()) // added workers keep their device (the job file's keep theirs)
      st.worker_devices[w.worker] = w.device;
    place_worker(self, node, w.worker, w.clock, resumed, std::move(*at));
  }
}

} // namespace herd::actors
