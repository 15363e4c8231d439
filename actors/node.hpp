// The node actor: one per process that hosts a job's shards and workers. A daemon (`herd node`)
// publishes it through the middleman; `herd run` spawns one in-process as node "local".
//
//   attach(supervisor, job json, peers) -> connects to the other nodes (direct routes for
//                           shard <-> worker traffic), loads the training set when workers
//                           will run here (in a helper: the node answers meanwhile) -> true
//   spawnshard(shard_spec)  -> the shard's handle (monitored: counted while it lives)
//   spawnwork(worker_spec)  -> the worker's handle (after loading the set if not held here)
//   ctl(request)            -> forwarded to the attached supervisor (the answer comes from it)
//   status                  -> this node as JSON: name, job attached, live shards and workers
//   detach                  -> forgets the supervisor, stops the job's actors here (the job
//                              ended) -> true
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "config/job_config.hpp"
#include "actors/job_parts.hpp"
#include "data/dataset.hpp"
#include "kernels/compress/codec_registry.hpp"

namespace herd::actors {

struct node_setup {
  std::string name;
  std::shared_ptr<const kernels::compress::codec_registry> codecs;
  /// In one process the job's training set is already loaded; a daemon leaves this empty and
  /// loads the set named by the job (once per data config).
  std::shared_ptr<const data::dataset> train;
  /// In one process the job itself (spec texts are then not parsed: the job may hold data
  /// that only exists in memory, as in tests).
  std::optional<config::job_config> job;
  /// A line per event (job attached, shard or worker spawned, job detached); may be empty.
  std::function<void(const std::string&)> on_log;
  /// Whether connections to peer nodes use TLS (the process was set up for it).
  bool tls = false;
  transfer_options transfer;
};

caf::actor spawn_node(caf::actor_system& sys, node_setup setup);

} // namespace herd::actors
