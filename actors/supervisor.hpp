// The supervisor actor: spawns and monitors the job's shards, workers and evaluator, serves
// data chunks, gathers progress, schedules evaluations and ends the job.
//
//   start --> attach nodes --> shards on their nodes (members = workers) --> evaluator here,
//             workers on their nodes --> running (ctl: add-worker, remove-worker, ...)
//   running: chunk(worker, done) -> data_chunk | progress(report) -> maybe eval(clock)
//            finished(worker) -> all finished? --> final eval --> gather params --> result
//            down(worker, error) -> reclaim its chunks, it leaves every shard
//            down(shard | evaluator) -> the job fails with that error
#pragma once

#include <map>
#include <string>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>

#include "actors/job.hpp"

namespace herd::actors {

/// `nodes`: the job's nodes by name (node actors, local or remote proxies).
caf::actor spawn_supervisor(caf::actor_system& sys, job_inputs in,
                            std::map<std::string, caf::actor> nodes, job_callbacks cb);

} // namespace herd::actors

// The job's result only ever travels from the supervisor to run_job in the same process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herd::actors::job_result)
