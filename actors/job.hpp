// Running a whole training job inside one actor system: the supervisor spawns the shards,
// workers and evaluator from the job config and reports progress through callbacks.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/checkpoint_store.hpp"
#include "actors/job_parts.hpp"
#include "config/job_config.hpp"
#include "data/dataset.hpp"
#include "kernels/compress/codec_registry.hpp"
#include "messages/errc.hpp"

namespace caf {
class actor;
class actor_system;
} // namespace caf

namespace herd::actors {

struct job_inputs {
  config::job_config cfg;
  std::shared_ptr<const data::dataset> train;
  std::shared_ptr<const data::dataset> test;
  /// Gradient codecs, assembled by main(); run_job uses default_codecs() when absent.
  std::shared_ptr<const kernels::compress::codec_registry> codecs;
  /// How large payloads travel; in one process they are handed over whole unless told.
  transfer_options transfer;
  /// Continue from this checkpoint (herd run --resume).
  std::shared_ptr<const checkpoint> resume;
};

/// Emitted after every worker step (callers throttle what they print).
struct progress_info {
  uint64_t clock = 0;   // slowest active worker's clock
  uint32_t epoch = 0;   // epoch of the next data chunk (0-based)
  uint64_t samples = 0; // training samples consumed so far
  double loss = 0;      // exponential moving average of step losses
  double elapsed_s = 0;
  double samples_per_s = 0;
  double last_accuracy = -1; // last evaluation, -1 before the first
};

/// One evaluation of a parameter snapshot.
struct eval_point {
  uint64_t clock = 0;
  uint64_t samples = 0;
  double train_s = 0; // training wall time when the snapshot was taken
  double loss = 0;
  double accuracy = 0;
  double eval_s = 0;  // time the evaluation itself took
};

struct job_callbacks {
  std::function<void(const progress_info&)> on_progress;
  std::function<void(const eval_point&)> on_eval;
  std::function<void(const std::string&)> on_log;
  /// Called once the job's actors are spawned, with the supervisor: the handle through which
  /// the job is steered while it runs (remove a worker, change the consistency model).
  std::function<void(const caf::actor&)> on_start;
  /// Connects to node `name` again (a lost node whose daemon may have started again); blocks,
  /// so the supervisor calls it on a thread of its own. Unset (one process): lost stays lost.
  std::function<caf::expected<caf::actor>(const std::string& name)> reconnect;
};

/// A shard's counters at the end of the job.
struct shard_summary {
  uint64_t version = 0;       // optimizer steps applied
  uint64_t pushes = 0;        // gradients accepted
  uint64_t refused = 0;       // payloads refused
  uint64_t waiting_pulls = 0; // deferred pulls left (0 when the maps drained)
  uint64_t open_rounds = 0;   // BSP rounds left holding pushes
  uint64_t waiting_pulls_max = 0; // high-water marks over the job
  uint64_t open_rounds_max = 0;
  uint64_t decoded = 0;   // gradient payloads decoded and validated (accepted or refused)
  uint64_t decode_ns = 0; // time spent on them
};

struct job_result {
  eval_point final_eval;
  std::vector<eval_point> evals;
  double wall_s = 0;
  uint64_t samples = 0;
  uint64_t clock = 0;   // steps completed by the fastest worker
  double samples_per_s = 0;
  std::optional<double> time_to_target_s; // first evaluation at or above target_accuracy
  std::vector<float> params;              // final parameters, gathered from the shards
  bool stopped = false; // ended by a stop (herd ctl stop, a signal), not by using up its data
  uint64_t steps = 0; // steps completed, summed over the workers (a replica's minibatch is one)
  uint64_t steps_skipped = 0;             // of those, skipped for inf/NaN gradients
  double steps_per_s = 0;                 // the same, per second
  // Staleness of every applied update, in shard versions, over all shards.
  uint64_t staleness_p50 = 0;
  uint64_t staleness_p99 = 0;
  uint64_t staleness_max = 0;
  std::vector<shard_summary> shards;
  // Bytes on the wire over the job, summed over workers: gradients pushed (uplink) and
  // parameters pulled (downlink), as sent and as fp32 values before encoding.
  uint64_t up_bytes = 0;
  uint64_t up_dense_bytes = 0;
  uint64_t down_bytes = 0;
  uint64_t down_dense_bytes = 0;
  // Time spent on gradient payloads over the job: encoding on the workers (summed over the
  // workers) and decoding + validating on the shards (summed over the shards).
  uint64_t encode_ns = 0;
  uint64_t decode_ns = 0;
  // Pipeline jobs: each stage's mean idle fraction of a minibatch's schedule, by worker id
  // (replica id / K, stage id % K); the first minibatch (warm-up) left out.
  std::map<uint32_t, double> stage_idle;

  /// Per worker step, in microseconds (0 before any step). Decoding covers the step's payloads
  /// on every shard.
  double encode_us_per_step() const { return us_per_step(encode_ns); }
  double decode_us_per_step() const { return us_per_step(decode_ns); }
  double us_per_step(uint64_t ns) const { return steps ? 1e-3 * double(ns) / double(steps) : 0; }
};

/// Loads and normalises the job's training and test sets and checks the model against them.
expected<job_inputs> load_inputs(const config::job_config& cfg);

/// The pipeline rules of a job (none when pipeline_stages is 1): stages fit the layers, the
/// workers list holds replicas x stages entries, at least one shard per stage, and only what
/// stages support (dense fp32 pushes, no checkpoints yet). Names the JSON path.
caf::error check_pipeline(const config::job_config& cfg);

/// Refuses what the job file can say but this build cannot do yet, naming the JSON path.
/// Without `cluster` every shard and worker must be on the first node (one process).
caf::error check_supported(const config::job_config& cfg,
                           const kernels::compress::codec_registry& codecs,
                           bool cluster = false);

/// Runs the job to the end in this process (one node, named as the job's first node); errors
/// (a failed shard, every worker lost) come back as values.
expected<job_result> run_job(caf::actor_system& sys, const job_inputs& in,
                             job_callbacks callbacks = {});

/// Runs the job with its shards and workers on `nodes` (node actors by the job's node names,
/// usually remote: see apps/cluster.hpp); the supervisor and evaluator run here.
expected<job_result> run_job_on(caf::actor_system& sys, const job_inputs& in,
                                std::map<std::string, caf::actor> nodes,
                                job_callbacks callbacks = {});

} // namespace herd::actors
