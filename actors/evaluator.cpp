#include "actors/evaluator.hpp"

#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/exception_exit.hpp"
#include "messages/atoms.hpp"
#include "messages/errc.hpp"
#include "messages/payload_codec.hpp"
#include "messages/types.hpp"

namespace herd::actors {

namespace {

using messages::eval_report;
using messages::eval_request;
using messages::payload;

struct kept_snapshot {
  eval_report report;
  std::vector<float> params;
};

struct evaluator_actor_state {
  evaluator_setup setup;
  std::vector<kept_snapshot> kept; // deferred snapshots, evaluated on flush
  static inline const char* name = "herd.evaluator";
};

using evaluator_self = caf::stateful_actor<evaluator_actor_state>*;

void evaluate(evaluator_self self, eval_report& r, const float* params) {
  auto t0 = std::chrono::steady_clock::now();
  auto acc = self->state.setup.state->evaluate(params);
  std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
  r.loss = acc.loss;
  r.accuracy = acc.accuracy;
  r.eval_seconds = dt.count();
}

caf::behavior evaluator_behavior(evaluator_self self, evaluator_setup setup) {
  self->state.setup = std::move(setup);
  self->set_default_handler(caf::print_and_drop);
  self->set_exception_handler(exit_on_exception("the evaluator"));
  return {
    [=](eval_atom, const eval_request& req) {
      auto rp = self->make_response_promise();
      auto& st = self->state.setup;
      auto awaiting = std::make_shared<size_t>(st.shards.size());
      auto failed = std::make_shared<bool>(false);
      for (uint32_t i = 0; i < st.shards.size(); ++i) {
        self->request(st.shards[i], st.timeout, pull_atom::value, evaluator_reader, req.clock)
          .then(
            [=](const payload& p) mutable {
              if (*failed)
                return;
              auto& st = self->state.setup;
              const auto& s = st.slices[i];
              messages::slice_expectation want{i, s.offset, static_cast<uint32_t>(s.count)};
              auto h = messages::decode_slice(p.bytes, want,
                                              st.state->params().data() + s.offset);
              if (!h) {
                *failed = true;
                rp.deliver(std::move(h.error()));
                return;
              }
              // The shard's header names the clock its parameters are of (shard.cpp): a later
              // one when it has applied that clock's round and no longer keeps its copy,
              // which happens only once the newest few evaluation clocks have been kept since.
              if (req.exact && h->version != req.clock) {
                *failed = true;
                rp.deliver(make_error(errc::snapshot_gone,
                                      "evaluation at clock " + std::to_string(req.clock)
                                        + " skipped: shard " + std::to_string(i)
                                        + " no longer holds that clock's parameters (it is at "
                                          "clock "
                                        + std::to_string(h->version)
                                        + " and keeps the newest few evaluation clocks only: "
                                          "evaluations lag training; raise "
                                          "training.eval_every, or set training.evaluation "
                                          "to \"deferred\")"));
                return;
              }
              if (--*awaiting > 0)
                return;
              eval_report r;
              r.clock = req.clock;
              r.samples_seen = req.samples_seen;
              r.train_s = req.train_s;
              if (req.deferred)
                self->state.kept.push_back({r, st.state->params()});
              else
                evaluate(self, r, st.state->params().data());
              rp.deliver(r);
            },
            [=](caf::error& err) mutable {
              if (!*failed) {
                *failed = true;
                rp.deliver(std::move(err));
              }
            });
      }
      return rp;
    },
    [=](flush_atom) {
      std::vector<eval_report> out;
      for (auto& k : self->state.kept) {
        evaluate(self, k.report, k.params.data());
        out.push_back(k.report);
      }
      self->state.kept.clear();
      return out;
    },
  };
}

} // namespace

caf::actor spawn_evaluator(caf::actor_system& sys, evaluator_setup setup) {
  return sys.spawn<caf::detached>(evaluator_behavior, std::move(setup));
}

} // namespace herd::actors
