#include "actors/shard.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/consistency.hpp"
#include "actors/evaluator.hpp"
#include "actors/exception_exit.hpp"
#include "actors/gradient_codec.hpp"
#include "actors/local_handover.hpp"
#include "messages/atoms.hpp"
#include "messages/payload_codec.hpp"
#include "messages/types.hpp"

namespace herd::actors {

namespace {

using messages::payload;

struct shard_actor_state {
  std::shared_ptr<shard_state> core;
  std::unique_ptr<gradient_decoder> decoder;
  messages::dense_format pull_format = messages::dense_format::f32;
  // Deferred pulls by clock. Readiness is monotone in the clock, so release_ready drains the
  // map from the front; every push, join, leave and rule change calls it.
  struct waiting_pull {
    caf::response_promise rp;
    messages::dense_format format;
    uint32_t part_bytes = 0; // reader takes large slices in parts of this size (0: whole)
    bool local = false;      // reader is in this process: answer with a local_slice
    uint32_t reader = 0;
  };
  std::multimap<uint64_t, waiting_pull> waiting;
  std::vector<float> grad; // decode buffer
  std::shared_ptr<std::vector<float>> snap; // fp32 slice for local readers, at snap_version
  uint64_t snap_version = 0;
  std::map<caf::actor_addr, std::vector<char>> parts_in; // leading parts of pushes, by sender
  uint64_t refused = 0;
  uint64_t waiting_max = 0;
  uint64_t rounds_max = 0;
  uint64_t decoded = 0;   // pushed payloads decoded (accepted or refused)
  uint64_t decode_ns = 0; // time spent decoding and validating them
  static inline const char* name = "herd.shard";
};

using shard_self = caf::stateful_actor<shard_actor_state>*;

payload slice_payload(shard_self self, messages::dense_format format) {
  const auto& core = *self->state.core;
  messages::slice_header h{core.id(), core.offset(), static_cast<uint32_t>(core.size()),
                           core.version()};
  return payload{messages::encode_slice(h, core.params().data(), format)};
}

// The evaluator reads exactly its clock when the shard kept it (see shard_state::keep_every)
// or holds it now. Under an aggregating rule its header's version is the clock the parameters
// are of (a later one when that clock's are gone), not the shard's version: a round no member
// pushed to leaves the version behind the clock. Otherwise the current parameters, like any
// reader (nullopt).
std::optional<payload> evaluator_payload(shard_self self, uint32_t reader, uint64_t clock) {
  if (reader != evaluator_reader)
    return std::nullopt;
  const auto& core = *self->state.core;
  auto header = [&](uint64_t at) {
    return messages::slice_header{core.id(), core.offset(), static_cast<uint32_t>(core.size()),
                                  at};
  };
  if (auto kept = self->state.core->take_kept(clock))
    return payload{messages::encode_slice(header(clock), kept->data(),
                                          messages::dense_format::f32)};
  if (!core.rule().aggregates())
    return std::nullopt;
  auto at = core.holds_clock(clock) ? clock : core.params_clock();
  return payload{messages::encode_slice(header(at), core.params().data(),
                                        messages::dense_format::f32)};
}

// The slice for readers in this process: one copy per version, shared by all of them, never
// written while anyone holds it.
local_slice local_snapshot(shard_self self) {
  auto& st = self->state;
  const auto& core = *st.core;
  if (!st.snap || st.snap_version != core.version() || st.snap->size() != core.size()) {
    auto buf = reusable_buffer(st.snap, core.size());
    std::copy(core.params().begin(), core.params().end(), buf->begin());
    st.snap_version = core.version();
  }
  return local_slice{st.snap, st.snap_version};
}

// Workers get the configured pull format; the evaluator and snapshots always get fp32.
messages::dense_format format_for(shard_self self, uint32_t reader) {
  return reader == evaluator_reader ? messages::dense_format::f32 : self->state.pull_format;
}

// Answers a pull: in parts when the reader asked for them and the slice is larger.
void answer(shard_self self, caf::response_promise& rp, payload p, uint32_t part_bytes) {
  auto leading = messages::split_leading_parts(p, part_bytes);
  if (!leading.empty()) {
    auto to = caf::actor_cast<caf::actor>(rp.source());
    for (auto& part : leading)
      self->send(to, part_atom::value, self->state.core->id(), std::move(part));
  }
  rp.deliver(std::move(p));
}

void release_ready(shard_self self) {
  auto& st = self->state;
  std::map<messages::dense_format, payload> encoded; // once per format for all released now
  while (!st.waiting.empty() && st.core->pull_ready(st.waiting.begin()->first)) {
    auto& w = st.waiting.begin()->second;
    if (auto kept = evaluator_payload(self, w.reader, st.waiting.begin()->first)) {
      w.rp.deliver(std::move(*kept));
      st.waiting.erase(st.waiting.begin());
      continue;
    }
    if (w.local) {
      w.rp.deliver(local_snapshot(self));
      st.waiting.erase(st.waiting.begin());
      continue;
    }
    auto it = encoded.find(w.format);
    if (it == encoded.end())
      it = encoded.emplace(w.format, slice_payload(self, w.format)).first;
    answer(self, w.rp, it->second, w.part_bytes);
    st.waiting.erase(st.waiting.begin());
  }
}

messages::shard_stats stats_of(shard_self self) {
  const auto& core = *self->state.core;
  messages::shard_stats s;
  s.shard = core.id();
  s.version = core.version();
  s.pushes = core.pushes_accepted();
  s.refused = self->state.refused;
  s.waiting_pulls = self->state.waiting.size();
  s.open_rounds = core.open_rounds();
  s.staleness_counts = core.staleness().counts();
  s.staleness_max = core.staleness().max();
  s.waiting_pulls_max = self->state.waiting_max;
  s.open_rounds_max = self->state.rounds_max;
  s.decoded = self->state.decoded;
  s.decode_ns = self->state.decode_ns;
  return s;
}

caf::response_promise pull(shard_self self, uint32_t reader, uint64_t clock,
                           uint32_t part_bytes, bool local = false) {
  auto rp = self->make_response_promise();
  auto format = format_for(self, reader);
  auto kept = self->state.core->pull_ready(clock) ? evaluator_payload(self, reader, clock)
                                                  : std::nullopt;
  if (kept)
    rp.deliver(std::move(*kept));
  else if (self->state.core->pull_ready(clock) && local)
    rp.deliver(local_snapshot(self));
  else if (self->state.core->pull_ready(clock))
    answer(self, rp, slice_payload(self, format), part_bytes);
  else
    self->state.waiting.emplace(clock,
                                shard_actor_state::waiting_pull{rp, format, part_bytes, local,
                                                                reader});
  self->state.waiting_max = std::max<uint64_t>(self->state.waiting_max,
                                               self->state.waiting.size());
  return rp;
}

caf::behavior shard_behavior(shard_self self, std::shared_ptr<shard_state> core,
                             shard_options opts) {
  self->state.core = std::move(core);
  self->state.decoder = std::make_unique<gradient_decoder>(std::move(opts.codecs));
  self->state.pull_format = opts.pull_format;
  self->set_default_handler(caf::print_and_drop);
  self->set_exception_handler(exit_on_exception("shard " + std::to_string(self->state.core->id())));
  return {
    [=](pull_atom, uint32_t reader, uint64_t clock) { return pull(self, reader, clock, 0); },
    [=](pull_atom, uint32_t reader, uint64_t clock, uint32_t part_bytes) {
      return pull(self, reader, clock, part_bytes);
    },
    // A reader in this process (fp32 pulls only): the slice as a shared snapshot.
    [=](pull_atom, uint32_t reader, uint64_t clock, local_atom) {
      if (format_for(self, reader) != messages::dense_format::f32) {
        auto rp = self->make_response_promise();
        rp.deliver(make_error(errc::invalid_argument,
                              "local pulls carry fp32 values; this shard pulls in another format"));
        return rp;
      }
      return pull(self, reader, clock, 0, true);
    },
    [=](part_atom, uint32_t, payload& p) -> caf::result<void> {
      auto& buf = self->state.parts_in[caf::actor_cast<caf::actor_addr>(self->current_sender())];
      // Bounded: no valid push of this slice is larger than its fp32 values and a header.
      if (buf.size() + p.bytes.size() > 4 * self->state.core->size() + (1u << 20)) {
        self->state.parts_in.erase(caf::actor_cast<caf::actor_addr>(self->current_sender()));
        ++self->state.refused;
        return make_error(errc::payload_invalid, "payload parts larger than any push to shard "
                                                   + std::to_string(self->state.core->id()));
      }
      buf.insert(buf.end(), p.bytes.begin(), p.bytes.end());
      return caf::unit;
    },
    [=](snapshot_atom) { return slice_payload(self, messages::dense_format::f32); },
    [=](push_atom, payload& p) -> caf::result<uint64_t> {
      auto& st = self->state;
      auto parts = st.parts_in.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
      if (parts != st.parts_in.end()) { // the leading parts came first: the whole payload
        parts->second.insert(parts->second.end(), p.bytes.begin(), p.bytes.end());
        p.bytes = std::move(parts->second);
        st.parts_in.erase(parts);
      }
      messages::slice_expectation want{st.core->id(), st.core->offset(),
                                       static_cast<uint32_t>(st.core->size())};
      auto t0 = std::chrono::steady_clock::now();
      if (st.grad.size() != st.core->size()) // only payloads use it: allocated at the first
        st.grad.resize(st.core->size());
      const float* values = nullptr; // in p.bytes for dense fp32: no copy
      auto h = st.decoder->decode(p.bytes, want, st.grad.data(), values);
      st.decode_ns += uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now() - t0)
                                 .count());
      ++st.decoded;
      if (!h) {
        ++st.refused;
        return std::move(h.error());
      }
      if (auto err = st.core->push(h->worker, h->clock, h->base_version, values, h->samples,
                                     h->data_key)) {
        ++st.refused;
        return err;
      }
      st.rounds_max = std::max<uint64_t>(st.rounds_max, st.core->open_rounds());
      release_ready(self);
      return st.core->version();
    },
    // A dense fp32 gradient from a worker in this process: the payload path's checks, no decode.
    [=](push_atom, const local_gradient& g) -> caf::result<uint64_t> {
      auto& st = self->state;
      messages::slice_expectation want{st.core->id(), st.core->offset(),
                                       static_cast<uint32_t>(st.core->size())};
      auto t0 = std::chrono::steady_clock::now();
      auto err = check_local_gradient(g, want);
      st.decode_ns += uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now() - t0)
                                 .count());
      ++st.decoded;
      const auto& h = g.header;
      if (!err)
        err = st.core->push(h.worker, h.clock, h.base_version, g.values->data(), h.samples,
                             h.data_key);
      if (err) {
        ++st.refused;
        return err;
      }
      st.rounds_max = std::max<uint64_t>(st.rounds_max, st.core->open_rounds());
      release_ready(self);
      return st.core->version();
    },
    [=](skip_atom, uint32_t worker, uint64_t clock) -> caf::result<uint64_t> {
      if (auto err = self->state.core->skip(worker, clock)) {
        ++self->state.refused;
        return err;
      }
      release_ready(self);
      return self->state.core->version();
    },
    [=](join_atom, uint32_t worker, uint64_t clock) -> caf::result<uint64_t> {
      if (auto err = self->state.core->join(worker, clock))
        return err;
      release_ready(self);
      return self->state.core->version();
    },
    // The largest clock of any member (where a worker joining now may start).
    [=](status_atom) { return self->state.core->max_clock(); },
    [=](leave_atom, uint32_t worker) {
      self->state.core->leave(worker);
      release_ready(self);
      return self->state.core->version();
    },
    [=](consist_atom, const messages::consistency_msg& m) -> caf::result<uint64_t> {
      auto rule = rule_from(m);
      if (!rule)
        return std::move(rule.error());
      self->state.core->set_rule(*rule);
      release_ready(self);
      return self->state.core->version();
    },
    [=](stats_atom) { return stats_of(self); },
    // Every member holds at one clock (no round open): the state to continue from.
    [=](checkpoint_atom) {
      return payload{messages::encode_shard_snapshot(self->state.core->snapshot())};
    },
  };
}

} // namespace

caf::actor spawn_shard(caf::actor_system& sys, std::shared_ptr<shard_state> state,
                       shard_options opts) {
  return sys.spawn(shard_behavior, std::move(state), std::move(opts));
}

} // namespace herd::actors
