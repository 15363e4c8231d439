#include "actors/stage.hpp"

#include <limits>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/checkpoint_hold.hpp"
#include "actors/exception_exit.hpp"
#include "messages/atoms.hpp"
#include "messages/payload_codec.hpp"
#include "messages/specs.hpp"
#include "messages/types.hpp"

namespace herd::actors {

namespace {

using messages::payload;

constexpr uint64_t no_chunk = std::numeric_limits<uint64_t>::max();

struct stage_actor_state {
  stage_setup setup;
  caf::actor prev;                     // the sender of the activations
  size_t awaiting = 0;                 // pull replies still expected
  bool pulls_held = false; // held while its pulls were out: they go on after the resume
  bool pulled = false;     // the pulls of its clock are sent (reset when the clock advances)
  size_t leaving = 0;                  // leave replies still expected (after end)
  std::vector<uint64_t> base_versions; // by shard index
  uint64_t down_bytes = 0;             // pulled payload bytes of the current minibatch
  uint64_t down_dense_bytes = 0;       // the same slices as fp32 values
  bool ended = false;
  bool stopping = false; // stage 0, removed or stopped by ctl: ends at the next pull
  // Checkpoints, as a worker's: hold before the pull of the checkpoint's clock, report the
  // place once every push is answered, go on when told.
  size_t pushes_pending = 0;
  checkpoint_hold hold;
  static inline const char* name = "herd.stage";
};

using stage_self = caf::stateful_actor<stage_actor_state>*;

void fail(stage_self self, caf::error err) {
  self->quit(std::move(err));
}

void finish(stage_self self) {
  auto& st = self->state;
  if (st.ended)
    return;
  st.ended = true;
  if (st.setup.next)
    self->send(st.setup.next, stage_end_atom::value);
  auto& ss = *st.setup.state;
  st.leaving = ss.own_shards().size();
  for (auto i : ss.own_shards())
    self->request(st.setup.shards[i], st.setup.timeout, leave_atom::value, ss.id())
      .then(
        [=](uint64_t) {
          if (--self->state.leaving > 0)
            return;
          auto& ss = *self->state.setup.state;
          uint64_t done = no_chunk;
          ss.take_finished_chunk(done);
          // A stage holds no chunk open: its chunks are whole minibatches, committed.
          self->send(self->state.setup.supervisor, finished_atom::value, ss.id(), ss.clock(),
                     done, no_chunk, uint64_t{0});
          self->quit();
        },
        [=](caf::error& err) { fail(self, std::move(err)); });
}

// Holding for a checkpoint: once every push is answered the shards hold all of this stage's
// minibatches, and the supervisor learns its clock. A pipeline job's chunk is one minibatch,
// committed (reported done with its step, before this) by the time stage 0 holds: no chunk
// to save.
void maybe_report_held(stage_self self) {
  auto& st = self->state;
  if (st.ended || !st.hold.report_due(st.pushes_pending > 0))
    return;
  auto& ss = *st.setup.state;
  messages::worker_place at;
  at.worker = ss.id();
  at.clock = ss.clock();
  ss.save(at.carried); // stage 0's loss scale
  st.setup.encoder->save(at.carried);
  self->send(st.setup.supervisor, held_atom::value, at);
}

// Holds where it stands: the next stage holds at this clock too. It may have pulled it
// already and wait for activations that do not come before the resume; the hold reaches it
// behind everything sent for the steps before (one sender, one receiver: in order).
void hold_here(stage_self self) {
  auto& st = self->state;
  if (st.setup.next)
    self->send(st.setup.next, hold_atom::value, st.setup.state->clock());
  maybe_report_held(self);
}

void push_and_advance(stage_self self, const messages::stage_commit& c) {
  auto& st = self->state;
  auto& ss = *st.setup.state;
  st.pulled = false;
  uint64_t up = 0, dense = 0;
  auto e0 = steady_ns();
  // Some stage's gradient held inf/NaN (fp16 overflow, a bad sample): every stage skips the
  // minibatch on its shards, its clock advances, nothing is pushed.
  bool push = ss.gradient_ready(c);
  for (auto i : ss.own_shards()) {
    if (push)
      continue;
    ++st.pushes_pending;
    self->request(st.setup.shards[i], st.setup.timeout, skip_atom::value, ss.id(), ss.clock())
      .then(
        [=](uint64_t) {
          --self->state.pushes_pending;
          maybe_report_held(self);
        },
        [=](caf::error& err) { fail(self, std::move(err)); });
  }
  for (auto i : ss.own_shards()) {
    if (!push)
      break;
    const auto& s = ss.slices()[i];
    messages::gradient_header h;
    h.worker = ss.id();
    h.incarnation = st.setup.incarnation;
    h.clock = ss.clock();
    h.base_version = st.base_versions[i];
    h.shard = i;
    h.offset = s.offset;
    h.count = static_cast<uint32_t>(s.count);
    h.samples = ss.total_rows();
    h.data_key = c.data_key;
    payload p{st.setup.encoder->encode(h, ss.grad().data())};
    up += p.bytes.size();
    dense += 4 * uint64_t{h.count};
    ++st.pushes_pending;
    self->request(st.setup.shards[i], st.setup.timeout, push_atom::value, std::move(p))
      .then(
        [=](uint64_t) {
          --self->state.pushes_pending;
          maybe_report_held(self);
        },
        [=](caf::error& err) { fail(self, std::move(err)); });
  }
  uint64_t chunk = no_chunk;
  if (!ss.is_head() || !ss.take_finished_chunk(chunk))
    chunk = no_chunk;
  auto report = ss.finish_minibatch(c);
  report.committed_chunk = chunk; // with the samples: counted and done together
  report.encode_ns = steady_ns() - e0; // encoding dominates: sends only enqueue
  report.up_bytes = up;
  report.up_dense_bytes = dense;
  report.down_bytes = st.down_bytes;
  // Pulled whether or not the minibatch was skipped (then nothing is pushed).
  report.down_dense_bytes = st.down_dense_bytes;
  st.down_bytes = 0;
  st.down_dense_bytes = 0;
  self->send(st.setup.supervisor, progress_atom::value, report);
  self->send(self, step_atom::value);
}

// Runs whatever work can run now, in GPipe order, sending the results on.
void drive(stage_self self) {
  auto& st = self->state;
  auto& ss = *st.setup.state;
  while (auto w = ss.run_next()) {
    if (w->to_next)
      self->send(st.setup.next, std::move(*w->to_next));
    if (w->to_prev)
      self->send(st.prev, std::move(*w->to_prev));
  }
  if (ss.is_head() && ss.minibatch_done()) {
    auto c = ss.commit();
    self->send(st.setup.next, c);
    push_and_advance(self, c);
  }
}

void begin_minibatch(stage_self self) {
  auto& st = self->state;
  auto& ss = *st.setup.state;
  if (!ss.is_head())
    return drive(self);
  if (ss.has_batch()) {
    ss.start_minibatch();
    return drive(self);
  }
  uint64_t done = no_chunk;
  ss.take_finished_chunk(done);
  self->request(st.setup.supervisor, st.setup.timeout, chunk_atom::value, ss.id(), done)
    .then(
      [=](messages::data_chunk& c) {
        if (c.indices.empty())
          return finish(self);
        auto& ss = *self->state.setup.state;
        ss.set_chunk(std::move(c));
        ss.start_minibatch();
        drive(self);
      },
      [=](caf::error& err) { fail(self, std::move(err)); });
}

void pull(stage_self self) {
  auto& st = self->state;
  auto& ss = *st.setup.state;
  if (st.ended)
    return;
  if (st.stopping || (st.setup.max_steps > 0 && ss.clock() >= st.setup.max_steps))
    return finish(self);
  if (st.hold.hold_before(ss.clock()))
    return hold_here(self);
  st.pulled = true;
  st.awaiting = ss.own_shards().size();
  st.base_versions.resize(st.setup.shards.size());
  for (auto i : ss.own_shards())
    self->request(st.setup.shards[i], st.setup.timeout, pull_atom::value, ss.id(), ss.clock(),
                  uint32_t{0})
      .then(
        [=](payload& p) {
          auto& ss = *self->state.setup.state;
          const auto& s = ss.slices()[i];
          messages::slice_expectation want{i, s.offset, static_cast<uint32_t>(s.count)};
          auto h = messages::decode_slice(p.bytes, want, ss.params().data() + s.offset);
          if (!h)
            return fail(self, std::move(h.error()));
          self->state.base_versions[i] = h->version;
          self->state.down_bytes += p.bytes.size();
          self->state.down_dense_bytes += 4 * uint64_t{want.count};
          // Ended meanwhile (stage 0 ran out of data): the pull no longer matters.
          if (--self->state.awaiting > 0 || self->state.ended || self->state.pulls_held)
            return;
          ss.params_pulled();
          begin_minibatch(self);
        },
        [=](caf::error& err) { fail(self, std::move(err)); });
}

caf::behavior stage_behavior(stage_self self, stage_setup setup) {
  self->state.setup = std::move(setup);
  self->state.hold.start(self->state.setup.hold_every, self->state.setup.state->clock());
  self->set_default_handler(caf::print_and_drop);
  self->set_exception_handler(
    exit_on_exception("stage " + std::to_string(self->state.setup.state->id())));
  self->send(self, step_atom::value);
  return {
    [=](step_atom) { pull(self); },
    [=](messages::stage_activations& a) {
      self->state.prev = caf::actor_cast<caf::actor>(self->current_sender());
      self->state.setup.state->queue_forward(std::move(a));
      drive(self);
    },
    [=](messages::stage_deltas& d) {
      self->state.setup.state->queue_backward(std::move(d));
      drive(self);
    },
    [=](const messages::stage_commit& c) {
      if (self->state.setup.next)
        self->send(self->state.setup.next, c);
      push_and_advance(self, c);
    },
    [=](stage_end_atom) { finish(self); },
    // The supervisor stops the replica (another stage failed): everything this stage sent
    // before is on its way; the answer tells the supervisor so, then the stage ends.
    [=](stage_abort_atom) {
      auto rp = self->make_response_promise<uint64_t>();
      rp.deliver(self->state.setup.state->clock());
      self->state.ended = true;
      self->quit();
      return rp;
    },
    // Stage 0 is told by the supervisor, every later stage by the stage before it, where that
    // one holds (hold_here).
    [=](hold_atom, uint64_t clock) {
      auto& st = self->state;
      auto& ss = *st.setup.state;
      st.hold.hold_at(clock);
      if (st.hold.holding()) // told already, and so is the next stage
        return;
      // Within the step of a clock at or past the hold, it holds there. Stage 0 only while its
      // pulls are out (a replica that joined past the hold while the checkpoint began: under
      // BSP they wait for the others' steps, which hold), as a worker does (worker.cpp); with
      // them in, it computes the step and holds at the next. A later stage anywhere before
      // the activations: the stage before it holds at this clock and sends none.
      bool within = ss.is_head() ? st.awaiting > 0 : st.pulled;
      if (within && !st.ended && st.hold.hold_before(ss.clock())) {
        if (st.awaiting > 0) // else pulled: its minibatch began, waiting for activations
          st.pulls_held = true;
        hold_here(self);
      }
    },
    [=](resume_atom) {
      auto& st = self->state;
      if (!st.hold.resume(st.setup.state->clock()))
        return;
      if (!st.pulls_held) {
        if (!st.pulled) // else held after its pulls were in: the activations come now
          pull(self);
        return;
      }
      st.pulls_held = false; // the last reply begins the minibatch, or did meanwhile
      if (st.awaiting == 0 && !st.ended) {
        st.setup.state->params_pulled();
        begin_minibatch(self);
      }
    },
    // The replica is removed or the job stopped (ctl remove-worker, stop): meant for stage 0,
    // which ends after the commit of the minibatch under way; its end runs down the chain. A
    // later stage ignores it: leaving at its next pull would strand stage 0's minibatch.
    // Holding for a checkpoint (its last commit is in), it ends at once: its next pull waits
    // for a resume, which never comes when the checkpoint cannot complete.
    [=](stop_atom) {
      auto& st = self->state;
      if (!st.setup.state->is_head())
        return;
      st.stopping = true;
      if (st.hold.holding())
        finish(self);
    },
  };
}

} // namespace

caf::actor spawn_stage(caf::actor_system& sys, stage_setup setup) {
  return sys.spawn<caf::detached>(stage_behavior, std::move(setup));
}

} // namespace herd::actors
