#include "actors/worker.hpp"

#include <chrono>
#include <limits>
#include <optional>
#include <random>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/checkpoint_hold.hpp"
#include "actors/exception_exit.hpp"
#include "actors/local_handover.hpp"
#include "messages/atoms.hpp"
#include "messages/payload_codec.hpp"
#include "messages/specs.hpp"
#include "messages/types.hpp"

namespace herd::actors {

namespace {

using messages::payload;

constexpr uint64_t no_chunk = std::numeric_limits<uint64_t>::max();
constexpr uint64_t no_clock = std::numeric_limits<uint64_t>::max();

struct worker_actor_state {
  worker_setup setup;
  size_t leaves_pending = 0; // leave replies still expected when finishing
  // Pulls: the clock they were asked for, replies still expected, and whether a step waits for
  // them. With prefetch they go out before the previous step computes (see compute_and_push).
  uint64_t pull_clock = no_clock;
  size_t pulls_pending = 0;
  bool pull_waiting = false;
  std::vector<uint64_t> base_versions; // each shard's version in the pull the step computes on
  std::mt19937_64 rng;
  bool stopping = false; // asked to leave: finish after the current step
  checkpoint_hold hold;             // checkpoints: `held` is sent once pushes are in
  size_t pushes_pending = 0;       // push / skip requests not yet answered
  messages::step_report bytes; // wire bytes and encode time of the current step
  std::vector<uint32_t> part_bytes;             // per shard: parts of this size (0: whole)
  std::vector<std::vector<char>> parts_in;      // per shard: leading parts of the pulled slice
  std::vector<bool> local;                      // per shard: in this process (local_handover)
  std::vector<std::shared_ptr<std::vector<float>>> grad_out; // per shard: local push buffers
  static inline const char* name = "herd.worker";
};

using worker_self = caf::stateful_actor<worker_actor_state>*;

uint64_t elapsed_ns(std::chrono::steady_clock::time_point since) {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now() - since)
                    .count());
}

void fail(worker_self self, caf::error err) {
  self->quit(std::move(err));
}

void finish(worker_self self) {
  auto& st = self->state;
  st.leaves_pending = st.setup.shards.size();
  auto id = st.setup.state->id();
  for (auto& shard : st.setup.shards)
    self->request(shard, st.setup.timeout, leave_atom::value, id)
      .then(
        [=](uint64_t) {
          if (--self->state.leaves_pending == 0) {
            auto& ws = *self->state.setup.state;
            uint64_t done = no_chunk;
            ws.take_finished_chunk(done); // a used-up chunk is done, not handed out again
            // Removed mid-chunk: the samples trained are done, only the rest goes back.
            bool open = ws.chunk_open();
            self->send(self->state.setup.supervisor, finished_atom::value, id, ws.clock(),
                       done, open ? ws.chunk().id : no_chunk,
                       uint64_t{open ? ws.position() : 0});
            self->quit();
          }
        },
        [=](caf::error& err) { fail(self, std::move(err)); });
}

// Holding for a checkpoint: once every push is answered the shards hold all of this worker's
// steps, and the supervisor learns where the worker stands.
void maybe_report_held(worker_self self) {
  auto& st = self->state;
  if (!st.hold.report_due(st.pushes_pending > 0))
    return;
  auto& ws = *st.setup.state;
  messages::worker_place at;
  at.worker = ws.id();
  at.clock = ws.clock();
  at.has_chunk = ws.chunk_open() && ws.has_batch();
  if (at.has_chunk) {
    at.chunk_id = ws.chunk().id;
    at.epoch = ws.chunk().epoch;
    at.indices = ws.chunk().indices;
    at.pos = ws.position();
  }
  // What the next step depends on besides the parameters: the loss scale, the residuals.
  ws.save(at.carried);
  if (!ws.pushes_from_backend())
    st.setup.encoder->save(at.carried);
  self->send(st.setup.supervisor, held_atom::value, at);
}

void push_answered(worker_self self) {
  --self->state.pushes_pending;
  maybe_report_held(self);
}

// A dense fp32 gradient to a shard in this process: copied once into a buffer the shard reads.
// The bytes reported are the fp32 values handed over.
void push_local(worker_self self, const messages::gradient_header& h) {
  auto& st = self->state;
  auto e0 = std::chrono::steady_clock::now();
  auto buf = reusable_buffer(st.grad_out[h.shard], h.count);
  const float* g = st.setup.state->grad().data() + h.offset;
  std::copy(g, g + h.count, buf->begin());
  st.bytes.encode_ns += elapsed_ns(e0);
  st.bytes.up_bytes += 4 * uint64_t{h.count};
  st.bytes.up_dense_bytes += 4 * uint64_t{h.count};
  ++st.pushes_pending;
  self->request(st.setup.shards[h.shard], st.setup.timeout, push_atom::value,
                local_gradient{h, std::move(buf)})
    .then([=](uint64_t) { push_answered(self); },
          [=](caf::error& err) { fail(self, std::move(err)); });
}

bool steps_at(worker_self self, uint64_t clock);
void issue_pulls(worker_self self, uint64_t clock);

void compute_and_push(worker_self self) {
  auto& st = self->state;
  auto& ws = *st.setup.state;
  // Prefetch: the next step's pulls travel while this one computes. The shard answers when its
  // rule allows: under BSP after this round (as without prefetch), under SSP/ASP possibly
  // without this step's own gradient, which the staleness bound covers.
  if (st.setup.prefetch && steps_at(self, ws.clock() + 1))
    issue_pulls(self, ws.clock() + 1);
  auto t0 = std::chrono::steady_clock::now();
  auto step = ws.compute_step();
  const auto& lag = st.setup.straggler;
  if (lag.factor > 1.0
      && std::uniform_real_distribution<double>{0.0, 1.0}(st.rng) < lag.probability) {
    auto spent = std::chrono::steady_clock::now() - t0;
    std::this_thread::sleep_for(
      std::chrono::duration_cast<std::chrono::nanoseconds>(spent * (lag.factor - 1.0)));
  }
  const auto& slices = ws.slices();
  for (uint32_t i = 0; i < slices.size() && step.skipped; ++i) { // overflowed: nothing to push
    ++st.pushes_pending;
    self->request(st.setup.shards[i], st.setup.timeout, skip_atom::value, ws.id(), ws.clock())
      .then([=](uint64_t) { push_answered(self); },
            [=](caf::error& err) { fail(self, std::move(err)); });
  }
  for (uint32_t i = 0; i < slices.size() && !step.skipped; ++i) {
    messages::gradient_header h;
    h.worker = ws.id();
    h.incarnation = st.setup.incarnation;
    h.clock = ws.clock();
    h.base_version = st.base_versions[i];
    h.shard = i;
    h.offset = slices[i].offset;
    h.count = static_cast<uint32_t>(slices[i].count);
    h.samples = ws.last_samples();
    h.data_key = ws.last_data_key();
    if (st.local[i] && st.setup.encoder->dense()) {
      push_local(self, h);
      continue;
    }
    auto e0 = std::chrono::steady_clock::now();
    payload p{ws.pushes_from_backend() ? ws.encode_push(h)
                                       : st.setup.encoder->encode(h, ws.grad().data())};
    st.bytes.encode_ns += elapsed_ns(e0);
    st.bytes.up_bytes += p.bytes.size();
    st.bytes.up_dense_bytes += 4 * uint64_t{h.count};
    for (auto& part : messages::split_leading_parts(p, st.part_bytes[i]))
      self->send(st.setup.shards[i], part_atom::value, ws.id(), std::move(part));
    ++st.pushes_pending;
    self->request(st.setup.shards[i], st.setup.timeout, push_atom::value, std::move(p))
      .then([=](uint64_t) { push_answered(self); },
            [=](caf::error& err) { fail(self, std::move(err)); });
  }
  ws.advance();
  auto report = st.bytes;
  report.worker = ws.id();
  report.clock = ws.clock();
  report.samples = ws.last_samples();
  report.loss = step.loss;
  report.skipped = step.skipped;
  st.bytes = messages::step_report{}; // the prefetched pulls count for the next step
  self->send(st.setup.supervisor, progress_atom::value, report);
  self->send(self, step_atom::value);
}

void next_batch(worker_self self) {
  auto& st = self->state;
  auto& ws = *st.setup.state;
  if (ws.has_batch())
    return compute_and_push(self);
  uint64_t done = no_chunk;
  ws.take_finished_chunk(done);
  self->request(st.setup.supervisor, st.setup.timeout, chunk_atom::value, ws.id(), done)
    .then(
      [=](messages::data_chunk& c) {
        if (c.indices.empty())
          return finish(self);
        self->state.setup.state->set_chunk(std::move(c));
        compute_and_push(self);
      },
      [=](caf::error& err) { fail(self, std::move(err)); });
}

// A pulled slice arrived (from a payload or a local snapshot): the step goes on once all are
// in and it waits for them.
void slice_pulled(worker_self self, uint32_t shard, uint64_t version, uint64_t bytes,
                  std::optional<kernels::half_format> as16 = {}) {
  auto& st = self->state;
  st.setup.state->slice_pulled(shard, as16); // a GPU backend starts copying it now
  st.base_versions[shard] = version;
  st.bytes.down_bytes += bytes;
  st.bytes.down_dense_bytes += 4 * uint64_t{st.setup.state->slices()[shard].count};
  if (--st.pulls_pending == 0 && st.pull_waiting) {
    st.pull_waiting = false;
    next_batch(self);
  }
}

// Asks every shard for its slice as of `clock` (the shard answers once its consistency rule
// lets a step of that clock read). The replies write the parameter vector, so this goes out
// only while no step computes on it: a detached actor handles them after the current handler.
void issue_pulls(worker_self self, uint64_t clock) {
  auto& st = self->state;
  auto& ws = *st.setup.state;
  st.pull_clock = clock;
  st.pulls_pending = st.setup.shards.size();
  st.base_versions.resize(st.setup.shards.size());
  for (uint32_t i = 0; i < st.setup.shards.size(); ++i) {
    if (st.local[i]) {
      self->request(st.setup.shards[i], st.setup.timeout, pull_atom::value, ws.id(), clock,
                    local_atom::value)
        .then(
          [=](const local_slice& l) {
            const auto& s = self->state.setup.state->slices()[i];
            if (!l.values || l.values->size() != s.count)
              return fail(self, make_error(errc::size_mismatch,
                                           "local slice of shard " + std::to_string(i)
                                             + " has the wrong size"));
            std::copy(l.values->begin(), l.values->end(),
                      self->state.setup.state->params().begin() + ptrdiff_t(s.offset));
            slice_pulled(self, i, l.version, 4 * uint64_t{s.count});
          },
          [=](caf::error& err) { fail(self, std::move(err)); });
      continue;
    }
    self->request(st.setup.shards[i], st.setup.timeout, pull_atom::value, ws.id(), clock,
                  st.part_bytes[i])
      .then(
        [=](payload& p) {
          auto& ws = *self->state.setup.state;
          auto& parts = self->state.parts_in[i];
          if (!parts.empty()) { // the leading parts came first: the whole payload
            parts.insert(parts.end(), p.bytes.begin(), p.bytes.end());
            p.bytes.swap(parts);
            parts.clear();
          }
          const auto& s = ws.slices()[i];
          messages::slice_expectation want{i, s.offset, static_cast<uint32_t>(s.count)};
          // A GPU backend takes bf16/fp16 values as sent and converts them on the device.
          uint16_t* p16 = ws.params16();
          auto fmt = messages::dense_format::f32;
          auto h = messages::decode_slice_as_sent(p.bytes, want, ws.params().data() + s.offset,
                                                  p16 ? p16 + s.offset : nullptr, fmt);
          if (!h)
            return fail(self, std::move(h.error()));
          std::optional<kernels::half_format> as16;
          if (p16 && fmt != messages::dense_format::f32)
            as16 = fmt == messages::dense_format::bf16 ? kernels::half_format::bf16
                                                        : kernels::half_format::fp16;
          slice_pulled(self, i, h->version, p.bytes.size(), as16);
        },
        [=](caf::error& err) { fail(self, std::move(err)); });
  }
}

// The worker's last step is before `clock`: asked to stop, or max_steps reached.
bool ends_at(worker_self self, uint64_t clock) {
  const auto& st = self->state;
  return st.stopping || (st.setup.max_steps > 0 && clock >= st.setup.max_steps);
}

// Whether the step of `clock` will run: not after the last step, not at a hold.
bool steps_at(worker_self self, uint64_t clock) {
  return !ends_at(self, clock) && !self->state.hold.holds_at(clock);
}

void pull(worker_self self) {
  auto& st = self->state;
  auto& ws = *st.setup.state;
  if (ends_at(self, ws.clock()))
    return finish(self);
  if (st.hold.hold_before(ws.clock()))
    return maybe_report_held(self);
  if (st.pull_clock != ws.clock()) // not prefetched
    issue_pulls(self, ws.clock());
  if (st.pulls_pending == 0)
    return next_batch(self);
  st.pull_waiting = true;
}

caf::behavior worker_behavior(worker_self self, worker_setup setup) {
  self->state.setup = std::move(setup);
  self->state.setup.state->set_precision(self->state.setup.half);
  self->state.rng.seed(self->state.setup.seed * 0x9e3779b97f4a7c15ull
                       + self->state.setup.state->id());
  self->set_default_handler(caf::print_and_drop);
  self->set_exception_handler(
    exit_on_exception("worker " + std::to_string(self->state.setup.state->id())));
  // Shards in other processes get large payloads in parts; in one process they are handed
  // over whole (no serialization to pipeline).
  auto& st = self->state;
  for (const auto& shard : st.setup.shards)
    st.part_bytes.push_back(shard.node() == self->node() && !st.setup.parts_in_process
                              ? 0
                              : st.setup.part_bytes);
  st.parts_in.resize(st.setup.shards.size());
  for (const auto& shard : st.setup.shards)
    st.local.push_back(shard.node() == self->node() && st.setup.local_handover);
  st.grad_out.resize(st.setup.shards.size());
  st.hold.start(st.setup.hold_every, st.setup.state->clock());
  self->send(self, step_atom::value);
  return {
    [=](step_atom) { pull(self); },
    [=](part_atom, uint32_t shard, payload& p) {
      auto& parts = self->state.parts_in.at(shard);
      parts.insert(parts.end(), p.bytes.begin(), p.bytes.end());
    },
    [=](stop_atom) { self->state.stopping = true; },
    [=](hold_atom, uint64_t clock) {
      auto& st = self->state;
      st.hold.hold_at(clock);
      // Waiting for the pull of a clock at or past the hold (a worker that joined past it
      // while the checkpoint began): under BSP that pull waits for the others' steps, which
      // hold. It holds here instead; the pull's replies are kept for when it resumes.
      if (st.pull_waiting && st.hold.hold_before(st.setup.state->clock())) {
        st.pull_waiting = false;
        maybe_report_held(self);
      }
    },
    [=](resume_atom) {
      if (self->state.hold.resume(self->state.setup.state->clock()))
        pull(self);
    },
  };
}

} // namespace

caf::actor spawn_worker(caf::actor_system& sys, worker_setup setup) {
  return sys.spawn<caf::detached>(worker_behavior, std::move(setup));
}

} // namespace herd::actors
