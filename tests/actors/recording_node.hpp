// A node in front of a job's real node that remembers the workers it spawned, by id, and the
// shards, by index, so that a test can kill one. Shared by the actor tests that fail workers,
// pipeline stages and shards.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/job.hpp"
#include "actors/node.hpp"
#include "kernels/compress/codec_registry.hpp"
#include "messages/atoms.hpp"
#include "messages/specs.hpp"

namespace herd::test {

/// The setup of an in-process node `name` that runs `in` (data and job held in memory).
inline actors::node_setup node_setup_for(const actors::job_inputs& in,
                                         std::string name = "local") {
  actors::node_setup setup;
  setup.name = std::move(name);
  setup.codecs = std::make_shared<kernels::compress::codec_registry>(
    kernels::compress::default_codecs());
  setup.train = in.train;
  setup.job = in.cfg;
  return setup;
}

struct spawned {
  std::mutex mx;
  std::map<uint32_t, caf::actor> by_id;
  std::map<uint32_t, caf::actor> shards; // by index (the latest spawned)
};

// With `hold_heads_of` = K > 0 it answers the spawn of a restarted pipeline replica's stage 0
// only once every worker it spawned has ended: the supervisor then hears each of them finish
// before it learns that the replica is placed (as when the reply takes a slower route than the
// stages' messages). 0: every spawn is answered at once.
inline caf::behavior recording_node(caf::event_based_actor* self, caf::actor real,
                                    std::shared_ptr<spawned> seen, uint32_t hold_heads_of) {
  using held_reply = std::pair<caf::typed_response_promise<caf::actor>, caf::actor>;
  auto held = std::make_shared<std::vector<held_reply>>();
  auto live = std::make_shared<std::set<caf::actor_addr>>();
  self->set_down_handler([=](caf::down_msg& dm) {
    if (live->erase(dm.source) == 0 || !live->empty())
      return;
    for (auto& [rp, w] : *held)
      rp.deliver(w);
    held->clear();
  });
  return {
    [=](attach_atom a, caf::actor& sup, std::string& json, std::vector<messages::peer>& peers) {
      auto rp = self->make_response_promise();
      rp.delegate(real, a, std::move(sup), std::move(json), std::move(peers));
      return rp;
    },
    [=](spawn_shard_atom a, messages::shard_spec& spec) {
      auto rp = self->make_response_promise<caf::actor>();
      auto index = spec.index;
      self->request(real, caf::infinite, a, std::move(spec))
        .then(
          [=](caf::actor& s) mutable {
            {
              std::lock_guard<std::mutex> g{seen->mx};
              seen->shards[index] = s;
            }
            rp.deliver(s);
          },
          [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    },
    [=](detach_atom a) {
      auto rp = self->make_response_promise();
      rp.delegate(real, a);
      return rp;
    },
    [=](spawn_worker_atom a, messages::worker_spec& spec) {
      auto rp = self->make_response_promise<caf::actor>();
      auto id = spec.id;
      bool hold = hold_heads_of > 0 && spec.incarnation > 0 && id % hold_heads_of == 0;
      self->request(real, caf::infinite, a, std::move(spec))
        .then(
          [=](caf::actor& w) mutable {
            {
              std::lock_guard<std::mutex> g{seen->mx};
              seen->by_id[id] = w;
            }
            if (hold_heads_of > 0) {
              live->insert(w.address());
              self->monitor(w);
            }
            if (hold)
              held->emplace_back(rp, w);
            else
              rp.deliver(w);
          },
          [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    },
  };
}

/// In-process nodes `names` for `in`, each behind a recording_node that records into `seen`;
/// shuts every one of them down when it goes.
struct recorded_nodes {
  std::map<std::string, caf::actor> nodes; // the recording fronts, as run_job_on takes them
  std::map<std::string, caf::actor> reals; // the nodes behind them

  recorded_nodes(caf::actor_system& sys, const actors::job_inputs& in,
                 const std::shared_ptr<spawned>& seen, std::vector<std::string> names) {
    for (const auto& name : names) {
      reals[name] = actors::spawn_node(sys, node_setup_for(in, name));
      nodes[name] = sys.spawn(recording_node, reals[name], seen, 0u);
    }
  }
  ~recorded_nodes() {
    for (auto* m : {&nodes, &reals})
      for (auto& [name, n] : *m)
        caf::anon_send_exit(n, caf::exit_reason::user_shutdown);
  }
  recorded_nodes(const recorded_nodes&) = delete;
  recorded_nodes& operator=(const recorded_nodes&) = delete;
};

} // namespace herd::test
