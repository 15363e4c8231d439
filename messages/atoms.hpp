// The protocol's atoms (CAF 0.17: at most 10 characters each). Included by actors/ and apps/ only.
#pragma once

#include <caf/atom.hpp>

namespace herd {

using pull_atom = caf::atom_constant<caf::atom("pull")>;         // worker/evaluator -> shard
using push_atom = caf::atom_constant<caf::atom("push")>;         // worker -> shard
using local_atom = caf::atom_constant<caf::atom("local")>; // pull from a reader in the process
using skip_atom = caf::atom_constant<caf::atom("skip")>;         // worker -> shard: step skipped
using join_atom = caf::atom_constant<caf::atom("join")>;         // worker -> shard
using leave_atom = caf::atom_constant<caf::atom("leave")>;       // worker -> shard
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>; // evaluator -> shard
using chunk_atom = caf::atom_constant<caf::atom("chunk")>;       // worker -> supervisor
using no_data_atom = caf::atom_constant<caf::atom("nodata")>;    // supervisor -> worker
using step_atom = caf::atom_constant<caf::atom("step")>;         // worker -> itself
using progress_atom = caf::atom_constant<caf::atom("progress")>; // worker -> supervisor
using finished_atom = caf::atom_constant<caf::atom("finished")>; // worker -> supervisor:
// (id, clock, chunk used up or none, chunk left open or none, samples of it trained)
using eval_atom = caf::atom_constant<caf::atom("eval")>;         // supervisor -> evaluator
using stats_atom = caf::atom_constant<caf::atom("stats")>;       // supervisor -> shard
using consist_atom = caf::atom_constant<caf::atom("consist")>;   // set the consistency rule
using flush_atom = caf::atom_constant<caf::atom("flush")>;       // evaluate kept snapshots
using remove_atom = caf::atom_constant<caf::atom("remove")>;     // remove a worker gracefully
using start_atom = caf::atom_constant<caf::atom("start")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using part_atom = caf::atom_constant<caf::atom("part")>; // a leading part of a large payload
// Node daemons (actors/node.hpp) and the control CLI.
using spawn_shard_atom = caf::atom_constant<caf::atom("spawnshard")>; // supervisor -> node
using spawn_worker_atom = caf::atom_constant<caf::atom("spawnwork")>; // supervisor -> node
using attach_atom = caf::atom_constant<caf::atom("attach")>;  // supervisor -> node: I run a job
using detach_atom = caf::atom_constant<caf::atom("detach")>;  // supervisor -> node: job ended
using ctl_atom = caf::atom_constant<caf::atom("ctl")>;        // ctl -> node -> supervisor
using status_atom = caf::atom_constant<caf::atom("status")>;  // anyone -> node
using hello_atom = caf::atom_constant<caf::atom("hello")>;    // anyone -> node: protocol check
using device_atom = caf::atom_constant<caf::atom("device")>;  // supervisor -> node: usable?
using loaded_atom = caf::atom_constant<caf::atom("loaded")>;  // node's loader -> node: done
// Coordinated checkpoints: every worker holds at one clock, the shards are saved, they resume.
using hold_atom = caf::atom_constant<caf::atom("hold")>;          // supervisor -> worker
using held_atom = caf::atom_constant<caf::atom("held")>;          // worker -> supervisor
using resume_atom = caf::atom_constant<caf::atom("resume")>;      // supervisor -> worker
using restart_atom = caf::atom_constant<caf::atom("restart")>;    // supervisor -> itself
using checkpoint_atom = caf::atom_constant<caf::atom("checkpoint")>; // supervisor -> shard
using rejoin_atom = caf::atom_constant<caf::atom("rejoin")>; // supervisor <-> its node dialer

using stage_end_atom = caf::atom_constant<caf::atom("stageend")>; // stage -> next stage: leave
using stage_abort_atom = caf::atom_constant<caf::atom("stageabort")>; // supervisor -> stage

} // namespace herd
