// Internal to actors/: the supervisor actor's state and the functions its three source files
// share. supervisor.cpp: lifecycle, progress, evaluations, the end of the job.
// supervisor_spawn.cpp: placing shards and workers on nodes, workers added while running.
// supervisor_ctl.cpp: the `herd ctl` commands.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/job.hpp"
#include "actors/job_parts.hpp"
#include "actors/shard_state.hpp"
#include "actors/supervisor_state.hpp"
#include "messages/specs.hpp"

namespace herd::actors {

struct supervisor_actor_state {
  job_inputs in;
  job_callbacks cb;
  std::map<std::string, caf::actor> nodes; // by name, as in the job's /nodes
  std::string job_json;                    // the job as nodes rebuild it
  std::unique_ptr<supervisor_state> core;
  job_plan plan;
  std::vector<caf::actor> shards;
  std::map<caf::actor_addr, uint32_t> worker_ids;
  std::map<uint32_t, caf::actor> workers;
  std::map<uint32_t, std::string> worker_nodes; // every worker ever placed, by id
  uint32_t next_worker_id = 0;
  consistency_rule rule; // the one in force
  caf::actor evaluator;
  caf::response_promise done;
  bool started = false; // every shard and worker of the job's file is placed
  bool ending = false;
  double train_s = 0; // training time at the end (before the final evaluation)
  static inline const char* name = "herd.supervisor";
};

using supervisor_self = caf::stateful_actor<supervisor_actor_state>*;

void log(supervisor_self self, const std::string& line);
void fail_job(supervisor_self self, caf::error err);
void set_consistency(supervisor_self self, const consistency_rule& rule);

/// Attaches every node, places the shards, then the evaluator and the workers.
void spawn_job(supervisor_self self);

/// Places a new worker on `node` while the job runs; answers `rp` with a line for ctl.
void add_worker(supervisor_self self, const std::string& node, caf::response_promise rp);

/// One `herd ctl` command (words as typed); answers `rp` with text, JSON for "status".
void handle_ctl(supervisor_self self, const messages::ctl_request& req,
                caf::response_promise rp);

} // namespace herd::actors
