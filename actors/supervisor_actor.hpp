// Internal to actors/: the supervisor actor's state and the functions its three source files
// share. supervisor.cpp: lifecycle, progress, evaluations, the end of the job.
// supervisor_spawn.cpp: placing shards and workers on nodes, workers added while running.
// supervisor_ctl.cpp: the `herd ctl` commands.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/checkpoint_dir.hpp"
#include "actors/job.hpp"
#include "actors/evaluator_state.hpp"
#include "actors/job_parts.hpp"
#include "actors/shard_state.hpp"
#include "actors/supervisor_state.hpp"
#include "messages/specs.hpp"

namespace herd::actors {

struct supervisor_actor_state {
  /// The device worker `id` computes on: what add-worker asked for, else its /workers entry.
  std::string device_of(uint32_t id) const {
    if (auto it = worker_devices.find(id); it != worker_devices.end())
      return it->second;
    return id < in.cfg.workers.size() ? in.cfg.workers[id].device : "cpu";
  }

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
  std::map<uint32_t, std::string> worker_devices; // added workers' devices (file: /workers)
  uint32_t next_worker_id = 0;
  consistency_rule rule; // the one in force
  bool rule_changed = false; // while the job ran: shard versions are no longer clocks
  uint64_t evals_skipped = 0; // their clock's parameters were no longer kept
  // Checkpoints (supervisor_checkpoint.cpp): workers hold at ckpt_clock, then shards are saved.
  std::optional<uint64_t> ckpt_clock;
  bool ckpt_saving = false; // every worker held: the shards' snapshots are on their way
  std::map<uint32_t, messages::worker_place> ckpt_held;
  std::vector<caf::response_promise> ckpt_waiters;
  std::optional<uint64_t> last_ckpt; // clock of the last checkpoint written
  std::string last_ckpt_line;        // and what its request was answered
  checkpoint_dir_lock ckpt_dir;      // held from the start (periodic) or the first checkpoint
  // Restarts (supervisor.restart / max_restarts): failed workers come back under their id.
  std::map<uint32_t, int> restarts;           // restarts so far, by worker
  std::set<uint32_t> restarting;              // failed, a restart under way
  std::set<uint32_t> removing;                // asked to leave (remove-worker): never restarted
  std::set<uint32_t> aborting_replicas;       // pipeline: a stage failed, the others stopping
  std::map<uint32_t, double> failed_at_s;     // when it failed (job time), until it reports
  std::set<std::string> dead_nodes;
  // Lost nodes being dialled again (supervisor_rejoin.cpp), and what waits for each: an
  // add-worker on it; the last reason each could not rejoin (logged once).
  std::set<std::string> rejoining;
  std::map<std::string, std::vector<std::function<void(const caf::error&)>>> rejoin_waiters;
  std::map<std::string, std::string> rejoin_refusals;
  size_t workers_done = 0; // workers (stages) that ended normally: data used up or removed
  bool stop_requested = false; // herd ctl stop (or herd run's signal): workers end mid-chunk
  // Rolling back after a lost shard: the old actors' down messages are ignored.
  std::set<caf::actor_addr> retired;
  std::optional<double> recovery_started_s;
  bool on_start_called = false;
  caf::actor evaluator;
  caf::response_promise done;
  bool started = false; // every shard and worker of the job's file is placed
  bool ending = false;
  bool shutting_down = false; // the job's actors end, the nodes are being detached
  double train_s = 0; // training time at the end (before the final evaluation)
  static inline const char* name = "herd.supervisor";
};

using supervisor_self = caf::stateful_actor<supervisor_actor_state>*;

void log(supervisor_self self, const std::string& line);
void fail_job(supervisor_self self, caf::error err);
void set_consistency(supervisor_self self, const consistency_rule& rule);

/// Counts replies down; runs `then` once when the last one is in.
inline auto countdown(size_t n, std::function<void()> then) {
  auto left = std::make_shared<size_t>(n);
  return [left, then = std::move(then)] {
    if (--*left == 0)
      then();
  };
}

/// `preferred` when it is connected and alive, else the first live node ("" when none).
std::string live_node(supervisor_self self, const std::string& preferred);

/// Takes worker `id` out of `shard`'s members. A request: the shard answers with its version,
/// which a plain send would bring back as a message the supervisor does not expect (CAF then
/// answers the shard with an error that ends it).
void leave_shard(supervisor_self self, const caf::actor& shard, uint32_t id);

/// Asks `node` for worker `id` at `clock`; `placed` runs once it is spawned and monitored.
/// `next`: a pipeline stage's next stage.
void place_worker(supervisor_self self, const std::string& node, uint32_t id, uint64_t clock,
                  std::function<void()> placed, messages::worker_place start = {},
                  caf::actor next = {},
                  std::function<void(const caf::error&)> refused = nullptr);

// Pipeline jobs (supervisor_pipeline.cpp). Replica r runs worker ids r*K .. r*K+K-1.
/// Joins replica `r`'s stages (ids r*K ..) to their shards two clocks past the furthest any
/// shard knows, then places them; `done` gets that clock, or why a shard refused (the stages
/// left again).
void join_replica(supervisor_self self, uint32_t r,
                  std::function<void(expected<uint64_t>)> done);
/// Places replica `r`'s stages at `clock`, the last first (each stage gets the next one's
/// handle); `placed` runs once per stage. The stages must be members of their shards already.
/// `starts`: where each stage resumes, by stage (from a checkpoint; empty: fresh).
void place_replica(supervisor_self self, uint32_t r, uint64_t clock, std::function<void()> placed,
                   std::vector<messages::worker_place> starts = {});
/// Stage `id` failed: the whole replica goes (its other stages are ended, every stage leaves
/// its shards, stage 0's unfinished minibatch goes back to the dispenser), then it is restarted
/// per the job's policy, or the job goes on without it.
void stage_lost(supervisor_self self, uint32_t id, const caf::error& reason);
/// Joins replica `r`'s stages to their shards two clocks past the highest any shard knows and
/// places them again.
void restart_replica(supervisor_self self, uint32_t r);

/// Attaches every node, places the shards, then the evaluator and the workers.
void spawn_job(supervisor_self self);
/// The job's nodes as each node's peers (for direct routes between them; none in-process).
std::vector<messages::peer> node_peers(supervisor_self self);

// Lost nodes rejoining (supervisor_rejoin.cpp), where the job can dial nodes (cb.reconnect).
/// Dials lost node `name` again, unless a dial is under way; every 2 s while it stays lost and
/// the job runs. A daemon that answers is attached, and the node is live again.
void dial_lost_node(supervisor_self self, const std::string& name);
/// `then` runs once lost node `name` has rejoined (no error) or a dial found it silent or
/// refusing (why); at once with an error when the job cannot dial nodes.
void when_rejoined(supervisor_self self, const std::string& name,
                   std::function<void(const caf::error&)> then);
/// The dial's outcome: a handle to the daemon now at the node's address, or why there is none.
void node_dialled(supervisor_self self, const std::string& name, caf::expected<caf::actor> h);

/// Places a new worker on `node` while the job runs; answers `rp` with a line for ctl.
void add_worker(supervisor_self self, const std::string& node, const std::string& device,
                caf::response_promise rp);

/// A shard was lost: every shard, worker and the evaluator restart from the newest checkpoint
/// (lost shards on live nodes); the clocks since are lost and reported. No checkpoint: the job
/// fails.
void roll_back(supervisor_self self, uint32_t lost_shard, const caf::error& reason);
// Resuming (supervisor_resume.cpp).
/// Takes the job's state from st.in.resume (shards and workers are placed from it next);
/// false when the checkpoint does not fit (the job has failed then).
bool begin_resume(supervisor_self self);
/// Places the checkpoint's workers (pipeline: whole replicas) where they stood, with what they
/// carried; `started` runs once all are placed.
void resume_workers(supervisor_self self, std::function<void()> started);
/// Joins the job file's workers (pipeline: replicas) two clocks past the furthest clock and
/// places them, with fresh chunks (a job resumed from its end with more epochs); `started`
/// runs once all are placed.
void join_file_workers(supervisor_self self, std::function<void()> started);
/// Places failed worker `id` again (same id, joined at a fresh clock), on its node if alive.
void restart_worker(supervisor_self self, uint32_t id);
/// Starts the end of the job (final evaluation, result) once every worker has finished, no
/// evaluation is in flight and no restart is under way. Whatever clears one of those calls it.
void maybe_finish(supervisor_self self);
/// After a worker is lost for good: ends the job if no worker is left, else maybe finishes.
void maybe_finish_after_loss(supervisor_self self, uint32_t id);

/// Starts a coordinated checkpoint (or joins the one under way); `rp`, when given, gets a line
/// naming the written directory, or the error.
/// Workers hold at the later of `at_least` and two clocks past the furthest reported.
void start_checkpoint(supervisor_self self, std::optional<caf::response_promise> rp,
                      uint64_t at_least = 0);
/// Tells worker `id` (`w`) to hold before the step of `clock`. A pipeline replica is told at
/// its stage 0 only, which tells the next stage where it holds (stage.cpp).
void send_hold(supervisor_self self, uint32_t id, const caf::actor& w, uint64_t clock);
/// A worker holds at the checkpoint's clock.
void checkpoint_held(supervisor_self self, const messages::worker_place& at);
/// A worker finished or failed: a checkpoint under way no longer waits for it.
void checkpoint_worker_gone(supervisor_self self, uint32_t id);
/// Test loss and accuracy of the parameters in `shards` (ShardCheckpoint bytes, by index).
expected<accuracy> evaluate_snapshots(supervisor_self self,
                                      const std::vector<std::vector<char>>& shards);
/// Saves the shards now (every worker gone or holding), then runs `then`.
void save_checkpoint(supervisor_self self, std::function<void()> then);

/// One `herd ctl` command (words as typed); answers `rp` with text, JSON for "status".
void handle_ctl(supervisor_self self, const messages::ctl_request& req,
                caf::response_promise rp);

} // namespace herd::actors
