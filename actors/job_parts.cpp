#include "actors/job_parts.hpp"

#include <algorithm>
#include <cstdio>
#include <new>
#include <optional>

#include <caf/actor_system.hpp>

#include "actors/compute_backend.hpp"
#include "actors/cpu_backend.hpp"
#include "actors/consistency.hpp"
#include "actors/shard.hpp"
#include "actors/stage.hpp"
#include "actors/tensor_group.hpp"
#include "actors/worker.hpp"

namespace herd::actors {

namespace {

// The rounding of a reduced-precision compute (none for fp32).
std::optional<kernels::half_format> half_of(config::compute_precision p) {
  if (p == config::compute_precision::bf16)
    return kernels::half_format::bf16;
  if (p == config::compute_precision::fp16)
    return kernels::half_format::fp16;
  return std::nullopt;
}

// "N values (X GiB in fp32)".
std::string fp32_values(size_t n) {
  char gib[32];
  std::snprintf(gib, sizeof gib, "%.1f", double(n) * 4.0 / (1024.0 * 1024 * 1024));
  return std::to_string(n) + " values (" + gib + " GiB in fp32)";
}

// The error for a part whose buffers could not be allocated (std::bad_alloc).
caf::error out_of_memory(const std::string& part, const std::string& what) {
  return make_error(errc::actor_failed, part + ": out of memory allocating " + what);
}

} // namespace

job_plan plan_job(const config::job_config& cfg) {
  job_plan plan;
  plan.cfg = cfg;
  plan.net = std::make_shared<model::mlp>(cfg.model.layers);
  int k = cfg.parallelism.pipeline_stages;
  if (k > 1) {
    auto cut = model::cut_stages(*plan.net, k);
    if (cut.error.empty() && cfg.shards.size() >= size_t(k)) { // else check_pipeline refused
      plan.stages = std::move(cut.stages);
      plan.slices = model::stage_slices(plan.stages, cfg.shards.size(), &plan.shard_stage);
      return plan;
    }
  }
  plan.slices = model::partition(plan.net->param_count(), cfg.shards.size());
  return plan;
}

std::vector<uint32_t> job_plan::shards_of(uint32_t id) const {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < slices.size(); ++i)
    if (!pipelined() || shard_stage[i] == stage_of(id))
      out.push_back(i);
  return out;
}

uint64_t optimizer_horizon(const config::job_config& cfg, size_t train_samples) {
  // A pipeline replica of K stages is one data-parallel worker to each of its shards.
  auto workers = uint64_t(cfg.workers.size())
                 / uint64_t(std::max(1, cfg.parallelism.pipeline_stages));
  // In samples: the schedule advances by the samples each update covers (optimizer_state).
  // The job ends at max_steps clocks or at the end of its epochs, whichever comes first.
  // (epochs 0: max_steps alone.)
  auto by_steps = uint64_t(cfg.training.max_steps) * uint64_t(cfg.training.batch_size) * workers;
  auto by_epochs = uint64_t(cfg.training.epochs) * train_samples;
  if (by_steps == 0 || by_epochs == 0)
    return std::max(by_steps, by_epochs);
  return std::min(by_steps, by_epochs);
}

namespace {

expected<caf::actor>
make_shard_or_throw(caf::actor_system& sys, const job_plan& plan,
                    std::shared_ptr<const kernels::compress::codec_registry> codecs,
                    uint32_t index, uint64_t horizon, const std::vector<uint32_t>& members,
                    const std::vector<char>& snapshot) {
  const auto& cfg = plan.cfg;
  std::vector<float> init(plan.net->param_count());
  plan.net->init(init.data(), cfg.model.init_seed);
  auto s = plan.slices.at(index);
  std::vector<float> part(init.begin() + s.offset, init.begin() + s.offset + s.count);
  auto rule = rule_of(cfg.consistency.model, cfg.consistency.staleness,
                      cfg.consistency.staleness_aware);
  // Under DGC momentum correction the momentum (Nesterov or not) lives on the workers: shards
  // run plain SGD.
  auto optimizer = cfg.optimizer;
  if (cfg.compression.momentum_correction) {
    optimizer.momentum = 0;
    optimizer.nesterov = false;
  }
  auto core = std::make_shared<shard_state>(index, s.offset, std::move(part), optimizer, rule,
                                            horizon);
  // Evaluations read exactly their clock under BSP or SSP(0): each round applies one clock, and
  // the shard keeps each evaluation clock's parameters before a round past it is applied.
  if (versions_are_clocks(cfg) && cfg.training.eval_every > 0)
    core->keep_every(static_cast<uint64_t>(cfg.training.eval_every));
  if (snapshot.empty()) {
    for (auto w : members)
      core->join(w, 0);
  } else {
    auto s = messages::decode_shard_snapshot(snapshot);
    if (!s)
      return std::move(s.error());
    if (auto err = core->restore(*s))
      return err;
  }
  shard_options opts;
  opts.codecs = std::move(codecs);
  switch (cfg.compression.pull) {
    case config::pull_format::fp16: opts.pull_format = messages::dense_format::f16; break;
    case config::pull_format::bf16: opts.pull_format = messages::dense_format::bf16; break;
    default: opts.pull_format = messages::dense_format::f32; break;
  }
  return spawn_shard(sys, std::move(core), std::move(opts));
}

} // namespace

expected<caf::actor> make_shard(caf::actor_system& sys, const job_plan& plan,
                                std::shared_ptr<const kernels::compress::codec_registry> codecs,
                                uint32_t index, uint64_t horizon,
                                const std::vector<uint32_t>& members,
                                const std::vector<char>& snapshot) {
  // Absurd sizes are refused before (apps/job_check); what still does not fit is one line.
  try {
    return make_shard_or_throw(sys, plan, std::move(codecs), index, horizon, members, snapshot);
  } catch (const std::bad_alloc&) {
    return out_of_memory("shard " + std::to_string(index),
                         "the initial parameters, " + fp32_values(plan.net->param_count())
                           + ", then its slice of "
                           + fp32_values(plan.slices.at(index).count)
                           + " and its optimizer state");
  }
}

namespace {

// The worker's backend: `device`, or with tensor parallelism the CPU computing through rank
// actors on this node.
expected<std::unique_ptr<compute_backend>> make_backend(caf::actor_system& sys,
                                                        const job_plan& plan,
                                                        const std::string& device,
                                                        size_t features) {
  const auto& cfg = plan.cfg;
  int ranks = cfg.parallelism.tensor_parallel;
  if (ranks <= 1)
    return make_compute_backend(device, plan.net, cfg.training.batch_size, features);
  if (device != "cpu")
    return make_error(errc::config_invalid,
                      "expected \"cpu\" with parallelism.tensor_parallel > 1 (tensor-parallel "
                      "ranks run on the CPU), got \"" + device + "\"");
  auto group = std::make_shared<tensor_group>(sys, plan.net, ranks, request_timeout);
  return std::unique_ptr<compute_backend>{std::make_unique<cpu_backend>(
    plan.net, cfg.training.batch_size, features,
    [group](const float* p, const float* x, const uint8_t* y, int rows, float* g,
            const model::step_options& opts) {
      return group->train_step(p, x, y, rows, g, opts);
    })};
}

expected<caf::actor>
make_worker_or_throw(caf::actor_system& sys, const job_plan& plan,
                     const kernels::compress::codec_registry& codecs,
                     std::shared_ptr<const data::dataset> train, uint32_t id, uint64_t clock,
                     std::vector<caf::actor> shards, caf::actor supervisor,
                     const transfer_options& transfer, const messages::worker_place& start,
                     uint32_t incarnation, const std::string& device) {
  const auto& cfg = plan.cfg;
  auto backend = make_backend(sys, plan, device, train->features);
  if (!backend) {
    // Workers of the job file are named by their JSON path; added ones by their id.
    auto where = id < cfg.workers.size() ? "/workers/" + std::to_string(id) + "/device"
                                         : "worker " + std::to_string(id);
    return make_error(code_of(backend.error()), where + ": " + describe(backend.error()));
  }
  worker_setup ws;
  ws.state = std::make_shared<worker_state>(id, plan.net, std::move(train), plan.slices,
                                            cfg.training.batch_size, std::move(*backend));
  ws.state->set_clock(clock);
  if (start.has_chunk)
    ws.state->set_chunk(messages::data_chunk{start.chunk_id, start.epoch, start.indices},
                        static_cast<size_t>(start.pos));
  ws.shards = std::move(shards);
  ws.supervisor = std::move(supervisor);
  ws.max_steps = static_cast<uint64_t>(cfg.training.max_steps);
  if (id < cfg.workers.size()) // workers added while running have no entry
    ws.straggler = cfg.workers[id].straggler;
  ws.seed = cfg.training.seed;
  ws.half = half_of(cfg.precision.compute);
  ws.timeout = request_timeout;
  ws.hold_every = static_cast<uint64_t>(std::max<int64_t>(0, cfg.checkpoint.every));
  ws.prefetch = cfg.training.prefetch;
  ws.incarnation = incarnation;
  ws.part_bytes = transfer.part_bytes;
  ws.parts_in_process = transfer.parts_in_process;
  ws.local_handover = !transfer.payloads_in_process && !transfer.parts_in_process
                      && cfg.compression.pull == config::pull_format::fp32;
  ws.encoder = std::make_shared<gradient_encoder>(codecs, cfg.compression, cfg.optimizer,
                                                  plan.slices, cfg.training.seed);
  ws.state->set_pull_16bit(cfg.compression.pull != config::pull_format::fp32);
  if (!ws.encoder->dense()) // dense gradients go out as fp32 (or through the local handover)
    ws.state->offer_push_encoding(cfg.compression, cfg.training.seed);
  if (!start.carried.empty()) { // resuming: what the worker kept back, as it was
    auto err = ws.state->restore(start.carried);
    if (!err && !ws.state->pushes_from_backend())
      err = ws.encoder->restore(start.carried);
    if (err)
      return make_error(code_of(err), "worker " + std::to_string(id) + ": " + describe(err));
  }
  return spawn_worker(sys, std::move(ws));
}

} // namespace

expected<caf::actor> make_worker(caf::actor_system& sys, const job_plan& plan,
                                 const kernels::compress::codec_registry& codecs,
                                 std::shared_ptr<const data::dataset> train, uint32_t id,
                                 uint64_t clock, std::vector<caf::actor> shards,
                                 caf::actor supervisor, const transfer_options& transfer,
                                 const messages::worker_place& start, uint32_t incarnation,
                                 const std::string& device) {
  try {
    return make_worker_or_throw(sys, plan, codecs, std::move(train), id, clock,
                                std::move(shards), std::move(supervisor), transfer, start,
                                incarnation, device);
  } catch (const std::bad_alloc&) {
    return out_of_memory("worker " + std::to_string(id),
                         "its copy of the parameters and their gradient, "
                           + fp32_values(plan.net->param_count()) + " each");
  }
}

expected<caf::actor> make_stage(caf::actor_system& sys, const job_plan& plan,
                      const kernels::compress::codec_registry& codecs,
                      std::shared_ptr<const data::dataset> train, uint32_t id, uint64_t clock,
                      std::vector<caf::actor> shards, caf::actor next, caf::actor supervisor,
                      uint32_t incarnation, const messages::worker_place& start) {
  const auto& cfg = plan.cfg;
  int stage = plan.stage_of(id);
  stage_setup ss;
  ss.state = std::make_shared<stage_state>(id, plan.net, plan.stages, stage, plan.slices,
                                           plan.shard_stage, cfg.parallelism.micro_batches,
                                           stage == 0 ? std::move(train) : nullptr,
                                           cfg.training.batch_size,
                                           cfg.parallelism.schedule
                                             == config::pipeline_schedule::one_f_one_b);
  ss.state->set_clock(clock);
  ss.state->set_precision(half_of(cfg.precision.compute));
  ss.shards = std::move(shards);
  ss.next = std::move(next);
  ss.supervisor = std::move(supervisor);
  ss.max_steps = static_cast<uint64_t>(cfg.training.max_steps);
  ss.encoder = std::make_shared<gradient_encoder>(codecs, cfg.compression, cfg.optimizer,
                                                  plan.slices, cfg.training.seed);
  ss.timeout = request_timeout;
  ss.incarnation = incarnation;
  ss.hold_every = static_cast<uint64_t>(std::max<int64_t>(0, cfg.checkpoint.every));
  if (!start.carried.empty()) { // resuming: the loss scale and the codec's residuals
    ss.state->restore(start.carried);
    if (auto err = ss.encoder->restore(start.carried))
      return make_error(code_of(err), "stage " + std::to_string(id) + ": " + describe(err));
  }
  return spawn_stage(sys, std::move(ss));
}

} // namespace herd::actors
