// Lost nodes rejoining the job. A node whose daemon died is dialled again (on a blocking actor
// of its own: dialling waits for TCP and the handshake) every 2 s while the job runs, and at
// once when `herd ctl add-worker` names it. A daemon that answers at the node's address (one
// started again) is attached to the job like the job's nodes at its start: it connects to its
// peers and reads the training set if the job file places workers there. The node is then live
// again: restarts and roll-backs place on it, add-worker uses it, ctl status shows it.
#include <chrono>

#include <caf/blocking_actor.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/supervisor_actor.hpp"
#include "messages/atoms.hpp"

namespace herd::actors {

namespace {

constexpr auto dial_every = std::chrono::seconds(2);

bool job_running(supervisor_self self) {
  const auto& st = self->state;
  return !st.ending && !st.shutting_down && !st.stop_requested;
}

void answer_waiters(supervisor_self self, const std::string& name, const caf::error& err) {
  auto waiters = std::move(self->state.rejoin_waiters[name]);
  self->state.rejoin_waiters.erase(name);
  for (auto& w : waiters)
    w(err);
}

// The dial (or the attach) failed: once more in dial_every while the node is still lost.
void still_lost(supervisor_self self, const std::string& name, const caf::error& why) {
  auto& st = self->state;
  st.rejoining.erase(name);
  answer_waiters(self, name, why);
  if (job_running(self) && st.dead_nodes.count(name) > 0)
    self->delayed_send(self, dial_every, rejoin_atom::value, name);
}

} // namespace

void dial_lost_node(supervisor_self self, const std::string& name) {
  auto& st = self->state;
  if (!st.cb.reconnect || st.dead_nodes.count(name) == 0 || st.rejoining.count(name) > 0
      || !job_running(self))
    return;
  st.rejoining.insert(name);
  auto sup = caf::actor_cast<caf::actor>(self);
  auto reconnect = st.cb.reconnect;
  self->system().spawn([=](caf::blocking_actor* dialer) {
    auto h = reconnect(name);
    if (h)
      dialer->send(sup, rejoin_atom::value, name, std::move(*h));
    else
      dialer->send(sup, rejoin_atom::value, name, h.error());
  });
}

void when_rejoined(supervisor_self self, const std::string& name,
                   std::function<void(const caf::error&)> then) {
  auto& st = self->state;
  if (!st.cb.reconnect)
    return then(make_error(errc::invalid_argument, "the job no longer uses it"));
  st.rejoin_waiters[name].push_back(std::move(then));
  dial_lost_node(self, name); // a dial under way answers it too
}

void node_dialled(supervisor_self self, const std::string& name, caf::expected<caf::actor> h) {
  auto& st = self->state;
  if (!job_running(self) || st.dead_nodes.count(name) == 0) {
    st.rejoining.erase(name);
    return answer_waiters(self, name, make_error(errc::invalid_argument, "the job is ending"));
  }
  if (!h)
    return still_lost(self, name, make_error(errc::timeout, "its daemon does not answer ("
                                                              + describe(h.error()) + ")"));
  auto node = std::move(*h);
  self->request(node, std::chrono::seconds(60), attach_atom::value, caf::actor_cast<caf::actor>(self),
                st.job_json, node_peers(self))
    .then(
      [=](bool) {
        auto& st = self->state;
        st.rejoining.erase(name);
        if (!job_running(self)) // it ended meanwhile: the node is detached like the others
          return answer_waiters(self, name, make_error(errc::invalid_argument,
                                                       "the job is ending"));
        st.nodes[name] = node;
        st.dead_nodes.erase(name);
        st.rejoin_refusals.erase(name);
        self->monitor(node); // a dead one reports at once: lost again
        log(self, "node " + name + " rejoined the job (its daemon answers again)");
        answer_waiters(self, name, caf::error{});
      },
      [=](caf::error& err) {
        auto why = "its daemon refused to rejoin (" + describe(err) + ")";
        auto& refused = self->state.rejoin_refusals[name];
        if (refused != why) // once per reason: it is asked every 2 s
          log(self, "node " + name + ": " + why);
        refused = why;
        still_lost(self, name, make_error(errc::invalid_argument, why));
      });
}

} // namespace herd::actors
