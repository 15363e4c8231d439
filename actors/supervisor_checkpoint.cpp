// Coordinated checkpoints. Periodic ones: every worker holds by itself before the step of each
// multiple C of checkpoint.every. On request (ctl): every active worker is told to hold before
// the step of clock C (two past the furthest clock reported); a holding worker reports
// once its pushes are answered, with the chunk it is working through. When all hold, every
// shard has applied every step below C and none beyond: the shards' states, the data position
// and the workers' places are written (checkpoint_store), then the workers go on.
#include <algorithm>

#include <caf/event_based_actor.hpp>

#include <cstdio>

#include "actors/checkpoint_dir.hpp"
#include "actors/consistency.hpp"
#include "actors/evaluator_state.hpp"
#include "actors/supervisor_actor.hpp"
#include "config/job_parse.hpp"
#include "messages/atoms.hpp"
#include "messages/checkpoint_codec.hpp"

namespace herd::actors {

namespace {

void finish_checkpoint(supervisor_self self, const std::string& line, caf::error err) {
  auto& st = self->state;
  for (auto& rp : st.ckpt_waiters) {
    if (err)
      rp.deliver(err);
    else
      rp.deliver(line);
  }
  st.ckpt_waiters.clear();
  for (auto& [id, at] : st.ckpt_held) {
    auto it = st.workers.find(id);
    if (it != st.workers.end())
      self->send(it->second, resume_atom::value);
  }
  st.ckpt_held.clear();
  st.ckpt_clock.reset();
  st.ckpt_saving = false;
}

void maybe_complete(supervisor_self self) {
  auto& st = self->state;
  // Saving already: a worker gone meanwhile must not start a second save, which would write
  // the checkpoint again once the first had resumed the workers (no workers, shards mid-step).
  if (!st.ckpt_clock || st.ckpt_saving)
    return;
  for (auto& [id, w] : st.workers)
    if (st.ckpt_held.count(id) == 0)
      return;
  // No worker holds (all wait for restarts) and nothing trained since the last checkpoint: it
  // is the answer, not written again over (a second save had replaced one with workers).
  if (st.ckpt_held.empty() && st.last_ckpt == st.core->max_clock())
    return finish_checkpoint(self, st.last_ckpt_line, {});
  st.ckpt_saving = true;
  save_checkpoint(self, [] {});
}

} // namespace

expected<accuracy> evaluate_snapshots(supervisor_self self,
                                      const std::vector<std::vector<char>>& shards) {
  auto& st = self->state;
  evaluator_state eval{st.plan.net, st.in.test};
  auto& params = eval.params();
  params.resize(st.plan.net->param_count());
  for (size_t i = 0; i < shards.size(); ++i) {
    auto s = messages::decode_shard_snapshot(shards[i]);
    if (!s)
      return std::move(s.error());
    const auto& slice = st.plan.slices.at(i);
    if (s->offset != slice.offset || s->params.size() != slice.count)
      return make_error(errc::size_mismatch, "checkpoint of shard " + std::to_string(i)
                                               + " does not fit the job's slice");
    std::copy(s->params.begin(), s->params.end(), params.begin() + slice.offset);
  }
  return eval.evaluate(params.data());
}

void save_checkpoint(supervisor_self self, std::function<void()> then) {
  auto& st = self->state;
  auto snaps = std::make_shared<std::vector<std::vector<char>>>(st.shards.size());
  auto left = std::make_shared<size_t>(st.shards.size());
  auto failed = std::make_shared<caf::error>();
  auto all_in = [=] {
    auto& st = self->state;
    if (*failed) {
      // herd run counts lines with this prefix (stderr, exit 1: apps/run_command.cpp).
      log(self, "checkpoint failed: " + describe(*failed));
      finish_checkpoint(self, "", *failed);
      return then();
    }
    checkpoint c;
    // The boundary the holding workers reached; with none holding (all finished), the end.
    c.clock = st.ckpt_held.empty() ? st.core->max_clock() : UINT64_MAX;
    for (auto& [id, at] : st.ckpt_held)
      c.clock = std::min(c.clock, at.clock);
    c.job_json = st.job_json;
    c.rule = to_message(st.rule);
    c.data = st.core->data_position();
    for (auto& [id, at] : st.ckpt_held) {
      worker_position p{id, st.worker_nodes[id], at.clock, at.has_chunk, {}, at.pos,
                        st.device_of(id), {}};
      if (at.has_chunk)
        p.chunk = data::chunk{at.chunk_id, at.epoch, at.indices};
      if (!at.carried.empty())
        p.carried = messages::encode_carried_state(at.carried);
      c.workers.push_back(std::move(p));
    }
    c.samples = st.core->samples();
    c.steps = st.core->steps();
    c.skipped = st.core->skipped();
    c.wire = st.core->wire();
    c.next_worker_id = st.next_worker_id;
    c.shards = std::move(*snaps);
    // Measured here, on exactly the saved parameters: a resumed job checks itself against it.
    if (auto acc = evaluate_snapshots(self, c.shards)) {
      c.accuracy = acc->accuracy;
      c.loss = acc->loss;
    }
    auto dir = config::checkpoint_dir(st.in.cfg);
    // Held from the start with periodic checkpoints; else from the first `herd ctl checkpoint`.
    auto held = hold_checkpoint_dir(st.ckpt_dir, dir, st.in.resume ? st.in.resume->source : "");
    auto written = held ? expected<std::string>{held}
                        : write_checkpoint(dir, c, st.in.cfg.checkpoint.keep);
    if (!written) {
      log(self, "checkpoint failed: " + describe(written.error()));
      finish_checkpoint(self, "", written.error());
    } else {
      char acc[64] = "";
      if (c.accuracy >= 0)
        std::snprintf(acc, sizeof acc, " (test accuracy %.2f%%)", 100.0 * c.accuracy);
      auto line = "checkpoint at clock " + std::to_string(c.clock) + " written to " + *written
                  + acc;
      log(self, line);
      st.last_ckpt = c.clock;
      st.last_ckpt_line = line;
      finish_checkpoint(self, line, {});
    }
    then();
  };
  for (size_t i = 0; i < st.shards.size(); ++i)
    self->request(st.shards[i], request_timeout, checkpoint_atom::value)
      .then(
        [=](messages::payload& p) {
          (*snaps)[i] = std::move(p.bytes);
          if (--*left == 0)
            all_in();
        },
        [=](caf::error& err) {
          *failed = err;
          if (--*left == 0)
            all_in();
        });
}

void send_hold(supervisor_self self, uint32_t id, const caf::actor& w, uint64_t clock) {
  // A later stage told by the supervisor could hold inside a step its stage 0 runs (waiting for
  // pulls while stage 0 computes), or fail to hold inside one stage 0 does not run (pulled
  // already, waiting for activations while stage 0 holds): each waits for the other forever.
  const auto& plan = self->state.plan;
  if (!plan.pipelined() || plan.stage_of(id) == 0)
    self->send(w, hold_atom::value, clock);
}

void start_checkpoint(supervisor_self self, std::optional<caf::response_promise> rp,
                      uint64_t at_least) {
  auto& st = self->state;
  if (rp)
    st.ckpt_waiters.push_back(std::move(*rp));
  if (st.ckpt_clock)
    return; // one under way: this request is answered with it
  st.ckpt_clock = std::max(st.core->max_clock() + 2, at_least);
  for (auto& [id, w] : st.workers)
    send_hold(self, id, w, *st.ckpt_clock);
  maybe_complete(self);
}

void checkpoint_held(supervisor_self self, const messages::worker_place& at) {
  auto& st = self->state;
  if (!st.ckpt_clock) {
    // Workers hold by themselves at every multiple of checkpoint.every: the first to arrive
    // starts that checkpoint, and the others are told (most hold there already).
    auto every = static_cast<uint64_t>(std::max<int64_t>(0, st.in.cfg.checkpoint.every));
    auto it = st.workers.find(at.worker);
    if (every == 0 || at.clock % every != 0 || st.ending) {
      if (it != st.workers.end())
        self->send(it->second, resume_atom::value);
      return;
    }
    st.ckpt_clock = at.clock;
    for (auto& [id, w] : st.workers)
      if (id != at.worker)
        send_hold(self, id, w, at.clock);
  }
  st.ckpt_held[at.worker] = at;
  maybe_complete(self);
}

void checkpoint_worker_gone(supervisor_self self, uint32_t id) {
  auto& st = self->state;
  st.ckpt_held.erase(id);
  maybe_complete(self);
}

} // namespace herd::actors
