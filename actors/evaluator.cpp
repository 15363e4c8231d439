#include "actors/evaluator.hpp"

#include <chrono>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "messages/atoms.hpp"
#include "messages/payload_codec.hpp"
#include "messages/types.hpp"

namespace herd::actors {

namespace {

using messages::eval_report;
using messages::payload;

struct evaluator_actor_state {
  evaluator_setup setup;
  static inline const char* name = "herd.evaluator";
};

using evaluator_self = caf::stateful_actor<evaluator_actor_state>*;

caf::behavior evaluator_behavior(evaluator_self self, evaluator_setup setup) {
  self->state.setup = std::move(setup);
  self->set_default_handler(caf::print_and_drop);
  return {
    [=](eval_atom, uint64_t clock, uint64_t samples) {
      auto rp = self->make_response_promise();
      auto& st = self->state.setup;
      auto awaiting = std::make_shared<size_t>(st.shards.size());
      auto failed = std::make_shared<bool>(false);
      for (uint32_t i = 0; i < st.shards.size(); ++i) {
        self->request(st.shards[i], st.timeout, pull_atom::value, evaluator_reader, clock)
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
              if (--*awaiting > 0)
                return;
              auto t0 = std::chrono::steady_clock::now();
              auto acc = st.state->evaluate(st.state->params().data());
              std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
              rp.deliver(eval_report{clock, samples, acc.loss, acc.accuracy, dt.count()});
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
  };
}

} // namespace

caf::actor spawn_evaluator(caf::actor_system& sys, evaluator_setup setup) {
  return sys.spawn<caf::detached>(evaluator_behavior, std::move(setup));
}

} // namespace herd::actors
