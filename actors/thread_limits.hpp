// Threads this process may still start. Workers, pipeline stages, tensor ranks and the evaluator
// are detached actors, one thread each; a system limit (kernel.pid_max is 32768 on many
// machines, vm.max_map_count, ulimit -u, a container's pids.max) caps how many run at once.
//
// CAF 0.17 counts a detached actor as running before its thread starts, and does not take the
// count back when the thread cannot start: the actor system's destructor then waits for ever.
// So herd checks before it asks (thread_headroom), and where a start still fails it says so
// (note_thread_start_failure) and the process ends without that destructor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "config/job_config.hpp"

namespace herd::actors {

struct thread_headroom_info {
  size_t more = 0;   // threads this process can start now, at most
  std::string limit; // the limit that binds, e.g. "kernel.pid_max 32768 with 141 tasks running"
};

/// The tightest of: kernel.pid_max and kernel.threads-max less the tasks running, this
/// process's memory maps under vm.max_map_count (a thread's stack and guard take two), the
/// cgroup's pids.max less pids.current, and for a non-root user ulimit -u less that user's
/// tasks. A limit that cannot be read does not count.
thread_headroom_info thread_headroom();

/// Threads the job's workers placed on `node` (on every node when empty) need: one per worker
/// or pipeline stage and, with tensor parallelism, one per rank besides.
uint64_t worker_threads(const config::job_config& cfg, const std::string& node = "");

/// Records that a thread could not be started (std::system_error from a detached spawn).
void note_thread_start_failure();

/// Whether any start failed in this process: it must end with std::_Exit, not by destroying
/// its actor system.
bool thread_start_failed();

/// The error text for a detached actor whose thread did not start (`reason`: the exception's).
std::string thread_start_error(const std::string& reason);

} // namespace herd::actors
