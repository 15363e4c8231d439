// The checks `herd run` makes before it loads any data, shared with `herd validate` so that
// validate says ok exactly when run would go on to the data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/config_issue.hpp"
#include "config/job_config.hpp"
#include "config/topology.hpp"
#include "kernels/compress/codec_registry.hpp"
#include "messages/errc.hpp"

namespace herd::apps {

/// Loads `job_file` (with `topo`'s nodes when given: herd run/validate --cluster) and checks it
/// against what this build supports (codecs, placements, pipeline and compression rules), the
/// model's size limits (check_model_size) and, without `topo`, this machine's memory
/// (check_memory) and threads (check_threads).
/// Error texts start with `job_file`; every parser issue, or the one support issue, is appended
/// to *issues when given.
expected<config::job_config> load_checked_job(const std::string& job_file,
                                              const config::topology* topo,
                                              const kernels::compress::codec_registry& codecs,
                                              std::vector<config::config_issue>* issues = nullptr);

/// Most values one shard's slice can hold: a slice's fp32 values cross processes, reach the
/// evaluator and are checkpointed as one Cap'n Proto Data blob, at most 2^29 - 1 bytes (a
/// list's element count has 29 bits); headers count them in 32 bits.
constexpr uint64_t max_slice_values = ((uint64_t{1} << 29) - 1) / 4;

/// Refuses (path /model/layers) a model whose parameter count overflows 64 bits or whose
/// largest shard slice exceeds max_slice_values, naming the count and the shards needed.
caf::error check_model_size(const config::job_config& cfg);

/// A lower bound of the bytes the job's shards and workers hold in one process: per parameter,
/// 4 bytes each for the shards' master copy, decode buffer and optimizer buffers (SGD momentum:
/// 1, Adam: 2) and for every data-parallel replica's parameters and gradient.
uint64_t min_memory_bytes(const config::job_config& cfg);

/// Refuses (path /model/layers) a job whose min_memory_bytes exceed the physical memory, or
/// the address-space limit (ulimit -v) when lower, naming the parameter count and the estimate.
/// load_checked_job applies it when the whole job runs in this process (no topology).
caf::error check_memory(const config::job_config& cfg);

/// Refuses (path /workers) a job whose workers, tensor ranks and evaluator need more threads
/// than this process can start (actors/thread_limits.hpp), naming the limit that binds.
/// load_checked_job applies it when the whole job runs in this process (no topology).
caf::error check_threads(const config::job_config& cfg);

/// Whether checkpoints could be written under `dir` (created when absent) without creating or
/// changing anything: the directory, or its nearest existing ancestor, is a writable directory.
/// The error names `dir` and the reason.
caf::error check_checkpoint_dir(const std::string& dir);

} // namespace herd::apps
