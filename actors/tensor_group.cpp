#include "actors/tensor_group.hpp"

#include <stdexcept>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/exception_exit.hpp"
#include "messages/errc.hpp"
#include "model/tensor_rank.hpp"

namespace herd::actors {

namespace {

using tp_step_atom = caf::atom_constant<caf::atom("tpstep")>;     // group -> rank
using tp_part_atom = caf::atom_constant<caf::atom("tppart")>;     // rank -> rank
using tp_done_atom = caf::atom_constant<caf::atom("tpdone")>;     // rank -> group

// In-process only (the ranks share the worker's buffers): pointers, not serializable.
struct tensor_step {
  model::tensor_step_inputs in;
  caf::actor reply_to;
  std::vector<caf::actor> peers; // all ranks in rank order
};

struct tensor_partial {
  uint32_t phase = 0;
  uint32_t from = 0;
  std::shared_ptr<const std::vector<float>> values;
};

} // namespace
} // namespace herd::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herd::actors::tensor_step)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herd::actors::tensor_partial)

namespace herd::actors {

namespace {

struct rank_state {
  std::unique_ptr<model::tensor_rank> core;
  std::vector<caf::actor> peers; // all ranks, this one included, in rank order
  caf::actor reply_to;
  size_t ranks = 0;
  bool running = false; // between a step's start and its end
  uint32_t phase = 0;
  // Contributions per phase, by rank; a faster rank's next phase may arrive early.
  std::vector<std::vector<std::shared_ptr<const std::vector<float>>>> inbox;
  std::vector<float> sum;
  static inline const char* name = "herd.tensor_rank";
};

using rank_self = caf::stateful_actor<rank_state>*;

void store(rank_self self, const tensor_partial& p) {
  auto& st = self->state;
  if (st.inbox.size() <= p.phase)
    st.inbox.resize(p.phase + 1,
                    std::vector<std::shared_ptr<const std::vector<float>>>(st.ranks));
  st.inbox[p.phase][p.from] = p.values;
}

void contribute(rank_self self, const std::vector<float>* mine);

// Sums each complete phase in rank order (every rank gets the same sum) and computes on.
void advance(rank_self self) {
  auto& st = self->state;
  while (st.running && st.phase < st.inbox.size()) {
    auto& slots = st.inbox[st.phase];
    for (const auto& s : slots)
      if (!s)
        return;
    size_t n = slots[0]->size();
    st.sum.assign(slots[0]->begin(), slots[0]->end());
    for (size_t r = 1; r < slots.size(); ++r)
      for (size_t i = 0; i < n; ++i)
        st.sum[i] += (*slots[r])[i];
    for (auto& s : slots)
      s.reset();
    ++st.phase;
    auto next = st.core->resume(st.sum.data());
    if (next == nullptr) {
      st.running = false;
      st.inbox.clear();
      self->send(st.reply_to, tp_done_atom::value, uint32_t(st.core->rank()), st.core->loss());
      return;
    }
    contribute(self, next);
  }
}

void contribute(rank_self self, const std::vector<float>* mine) {
  auto& st = self->state;
  tensor_partial p{st.phase, uint32_t(st.core->rank()),
                   std::make_shared<const std::vector<float>>(*mine)};
  store(self, p);
  for (size_t r = 0; r < st.peers.size(); ++r)
    if (int(r) != st.core->rank())
      self->send(st.peers[r], tp_part_atom::value, p);
}

caf::behavior rank_behavior(rank_self self, std::shared_ptr<const model::mlp> net, int rank,
                            int ranks) {
  self->state.core = std::make_unique<model::tensor_rank>(std::move(net), rank, ranks);
  self->state.ranks = size_t(ranks);
  self->set_exception_handler(exit_on_exception("tensor rank " + std::to_string(rank)));
  return {
    [=](tp_step_atom, tensor_step& s) {
      auto& st = self->state;
      st.reply_to = std::move(s.reply_to);
      st.peers = std::move(s.peers);
      st.running = true;
      st.phase = 0;
      contribute(self, st.core->begin(s.in));
      advance(self);
    },
    [=](tp_part_atom, tensor_partial& p) {
      store(self, p);
      advance(self);
    },
  };
}

} // namespace

tensor_group::tensor_group(caf::actor_system& sys, std::shared_ptr<const model::mlp> net,
                           int ranks, std::chrono::milliseconds timeout)
  : sys_(sys), timeout_(timeout) {
  for (int r = 0; r < ranks; ++r)
    ranks_.push_back(sys.spawn<caf::detached>(rank_behavior, net, r, ranks));
}

tensor_group::~tensor_group() {
  for (auto& r : ranks_)
    caf::anon_send_exit(r, caf::exit_reason::user_shutdown);
}

float tensor_group::train_step(const float* params, const float* x, const uint8_t* y, int rows,
                               float* grad, const model::step_options& opts) {
  if (!self_) {
    self_ = std::make_unique<caf::scoped_actor>(sys_);
    for (auto& r : ranks_)
      (*self_)->monitor(r);
  }
  auto& self = *self_;
  model::tensor_step_inputs in{params, x, y, rows, grad, opts};
  for (auto& r : ranks_)
    self->send(r, tp_step_atom::value, tensor_step{in, caf::actor_cast<caf::actor>(self), ranks_});
  float loss = 0;
  std::string failure;
  for (size_t done = 0; done < ranks_.size() && failure.empty(); ++done)
    self->receive(
      [&](tp_done_atom, uint32_t rank, float l) {
        if (rank == 0)
          loss = l;
      },
      [&](caf::down_msg& dm) {
        failure = "a tensor-parallel rank ended: " + describe(dm.reason);
      },
      caf::after(timeout_) >> [&] {
        failure = "a tensor-parallel rank did not answer within "
                  + std::to_string(timeout_.count()) + " ms";
      });
  if (!failure.empty())
    throw std::runtime_error(failure);
  return loss;
}

} // namespace herd::actors
