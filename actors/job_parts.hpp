// Building a job's shards and workers from its config. The supervisor's process and every
// node daemon run this same code on the same job text, so they agree on the model, the slices,
// the initial values and the recipe without sending any of them.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "config/job_config.hpp"
#include "data/dataset.hpp"
#include "kernels/compress/codec_registry.hpp"
#include "model/mlp.hpp"
#include "messages/errc.hpp"
#include "messages/specs.hpp"
#include "messages/types.hpp"
#include "model/slices.hpp"
#include "model/stages.hpp"

namespace herd::actors {

/// How long any request between the job's actors may take before it fails.
constexpr std::chrono::minutes request_timeout{5};

/// What follows from the config alone.
struct job_plan {
  config::job_config cfg;
  std::shared_ptr<const model::mlp> net;
  std::vector<model::slice> slices;
  // Pipeline jobs (pipeline_stages > 1, checked by check_pipeline): the stages, and the stage
  // each shard's slice belongs to (slices never cross a stage boundary). Empty otherwise.
  std::vector<model::stage_range> stages;
  std::vector<int> shard_stage;

  bool pipelined() const { return !stages.empty(); }
  int stage_count() const { return pipelined() ? int(stages.size()) : 1; }
  /// Worker `id`'s stage (replica id / K runs stages ids K*r .. K*r+K-1).
  int stage_of(uint32_t id) const { return int(id % uint32_t(stage_count())); }
  /// The shards worker `id` is a member of: its stage's, or all of them.
  std::vector<uint32_t> shards_of(uint32_t id) const;
};

job_plan plan_job(const config::job_config& cfg);

/// Samples the job trains on (the learning-rate schedule's horizon, optimizer_state).
uint64_t optimizer_horizon(const config::job_config& cfg, size_t train_samples);

/// How large payloads cross between processes (see messages::payload_part_bytes).
struct transfer_options {
  uint32_t part_bytes = messages::payload_part_bytes; // 0: always whole
  bool parts_in_process = false; // parts also within one process (to test that path)
  bool payloads_in_process = false; // no local handover: payloads within one process too
};

/// Shard `index` with its slice of the initial parameters; `members` join at clock 0. With a
/// `snapshot` (ShardCheckpoint bytes) the shard continues from it instead.
expected<caf::actor> make_shard(caf::actor_system& sys, const job_plan& plan,
                                std::shared_ptr<const kernels::compress::codec_registry> codecs,
                                uint32_t index, uint64_t horizon,
                                const std::vector<uint32_t>& members,
                                const std::vector<char>& snapshot = {});

/// Worker `id`, starting at `clock` (0, or the clock it joins a running job at), computing on
/// `device` ("cpu" or "cuda:N"); fails with one line when this process cannot use the device.
expected<caf::actor> make_worker(caf::actor_system& sys, const job_plan& plan,
                       const kernels::compress::codec_registry& codecs,
                       std::shared_ptr<const data::dataset> train, uint32_t id, uint64_t clock,
                       std::vector<caf::actor> shards, caf::actor supervisor,
                       const transfer_options& transfer = {},
                       const messages::worker_place& start = {}, uint32_t incarnation = 0,
                       const std::string& device = "cpu");

/// Stage `id % K` of replica `id / K` of a pipeline job, starting at `clock`; `next` is the
/// replica's next stage (none for the last). `shards`: every shard of the job. `start.carried`:
/// what it kept back, when resuming from a checkpoint.
expected<caf::actor> make_stage(caf::actor_system& sys, const job_plan& plan,
                                const kernels::compress::codec_registry& codecs,
                                std::shared_ptr<const data::dataset> train, uint32_t id,
                                uint64_t clock, std::vector<caf::actor> shards, caf::actor next,
                                caf::actor supervisor, uint32_t incarnation = 0,
                                const messages::worker_place& start = {});

} // namespace herd::actors
