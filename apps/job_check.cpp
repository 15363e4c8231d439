#include "apps/job_check.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>

#include <sys/resource.h>
#include <stdlib.h>
#include <unistd.h>

#include "actors/job.hpp"
#include "actors/job_parts.hpp"
#include "actors/thread_limits.hpp"
#include "config/job_parse.hpp"

namespace herd::apps {

namespace fs = std::filesystem;

namespace {

std::string gib(long double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", double(bytes / (1024.0L * 1024 * 1024)));
  return buf;
}

// The model's parameter count, or nullopt when it does not fit in 64 bits.
std::optional<uint64_t> param_count(const std::vector<int>& layers) {
  uint64_t total = 0;
  for (size_t l = 1; l < layers.size(); ++l) {
    uint64_t in = uint64_t(layers[l - 1]), out = uint64_t(layers[l]);
    if (__builtin_add_overflow(total, in * out + out, &total))
      return std::nullopt;
  }
  return total;
}

caf::error too_large(const std::string& why) {
  return make_error(errc::config_invalid, "/model/layers: " + why);
}

} // namespace

caf::error check_model_size(const config::job_config& cfg) {
  auto total = param_count(cfg.model.layers);
  if (!total)
    return too_large("the parameter count overflows 64 bits");
  auto shards = std::max<uint64_t>(1, cfg.shards.size());
  auto each = "a shard's slice can hold at most " + std::to_string(max_slice_values)
              + " values (its fp32 values travel and are checkpointed as one Cap'n Proto blob "
                "of at most 2^29 - 1 bytes)";
  auto needed = (*total + max_slice_values - 1) / max_slice_values;
  if (*total / shards > max_slice_values) // cheap first: no plan for absurd counts
    return too_large(std::to_string(*total) + " parameters over " + std::to_string(shards)
                     + " shard(s), but " + each + ": use at least " + std::to_string(needed)
                     + " shards or a smaller model");
  auto plan = actors::plan_job(cfg);
  for (size_t i = 0; i < plan.slices.size(); ++i)
    if (plan.slices[i].count > max_slice_values)
      return too_large(std::to_string(*total) + " parameters: shard " + std::to_string(i)
                       + "'s slice would hold " + std::to_string(plan.slices[i].count)
                       + " values, but " + each + ": use more shards or a smaller model");
  return {};
}

uint64_t min_memory_bytes(const config::job_config& cfg) {
  auto total = param_count(cfg.model.layers).value_or(UINT64_MAX);
  long double p = 4.0L * (long double) total; // fp32 bytes of one copy of the parameters
  // Shards: master copy, gradient decode buffer, and the optimizer's buffers.
  int opt = cfg.optimizer.type == config::optimizer_kind::adam ? 2
            : cfg.optimizer.momentum > 0 && !cfg.compression.momentum_correction ? 1
                                                                                 : 0;
  long double bytes = p * (2 + opt);
  // Workers: parameters and gradient (a pipeline replica's stages share one model copy).
  auto replicas = cfg.workers.size() / size_t(std::max(1, cfg.parallelism.pipeline_stages));
  bytes += p * 2 * (long double) replicas;
  return bytes >= (long double) UINT64_MAX ? UINT64_MAX : uint64_t(bytes);
}

caf::error check_memory(const config::job_config& cfg) {
  long double phys = (long double) sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGE_SIZE);
  const char* what = "physical memory";
  rlimit as{};
  if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY
      && (long double) as.rlim_cur < phys) {
    phys = (long double) as.rlim_cur;
    what = "address space this process may use (ulimit -v)";
  }
  auto need = min_memory_bytes(cfg);
  if (phys <= 0 || (long double) need <= phys)
    return {};
  return too_large(std::to_string(param_count(cfg.model.layers).value_or(0))
                   + " parameters need at least " + gib(need)
                   + " in this process (shards' master copies, gradient buffers and optimizer "
                     "state, workers' parameters and gradients), more than the "
                   + gib(phys) + " of " + what);
}

caf::error check_threads(const config::job_config& cfg) {
  // One thread per worker or stage and per tensor rank, the evaluator's, and a reserve for
  // CAF's scheduler and network threads, OpenBLAS's pool and the signal watch.
  auto tensor = cfg.parallelism.tensor_parallel > 1;
  auto cores = uint64_t(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  auto need = actors::worker_threads(cfg) + 1;
  auto room = actors::thread_headroom();
  auto reserve = 16 + 2 * cores;
  if (need + reserve <= room.more)
    return {};
  auto n = std::to_string(cfg.workers.size());
  return make_error(errc::config_invalid,
                    "/workers: " + n + " workers need " + std::to_string(need)
                      + " threads in this process (one per worker"
                      + (tensor ? " and per tensor rank" : "") + ", one for the evaluator)"
                      + ", but this system lets it start about " + std::to_string(room.more)
                      + " more (" + room.limit + ") and herd keeps " + std::to_string(reserve)
                      + " for its own: run fewer workers in one process, or "
                        "spread them over node daemons (herd node, herd run --cluster)");
}

expected<config::job_config> load_checked_job(const std::string& job_file,
                                              const config::topology* topo,
                                              const kernels::compress::codec_registry& codecs,
                                              std::vector<config::config_issue>* issues) {
  auto job = config::load_job(job_file, issues, topo ? &topo->nodes : nullptr);
  if (!job)
    return std::move(job.error());
  auto err = actors::check_supported(*job, codecs, topo != nullptr);
  if (!err)
    err = check_model_size(*job);
  if (!err && topo == nullptr) // with --cluster the parts run in the nodes' daemons
    err = check_memory(*job);
  if (!err && topo == nullptr)
    err = check_threads(*job);
  if (!err)
    return job;
  auto text = describe(err);
  if (issues != nullptr) {
    // "PATH: MESSAGE" when the text names a JSON path, as the parser's issues do.
    auto colon = text.find(": ");
    if (!text.empty() && text[0] == '/' && colon != std::string::npos)
      issues->push_back({text.substr(0, colon), text.substr(colon + 2)});
    else
      issues->push_back({"", text});
  }
  return make_error(code_of(err), job_file + ": " + text);
}

caf::error check_checkpoint_dir(const std::string& dir) {
  auto refuse = [&](const std::string& why) {
    return make_error(errc::io_error, "cannot write checkpoints to " + dir + ": " + why);
  };
  std::error_code ec;
  auto at = fs::absolute(dir, ec);
  if (ec)
    return refuse(ec.message());
  at = at.lexically_normal();
  // The nearest existing ancestor is where the directories would be created.
  while (!fs::exists(at, ec) && at.has_relative_path())
    at = at.parent_path();
  if (!fs::is_directory(at, ec))
    return refuse(at.string() + " is not a directory");
  // Tried, not asked (access() says yes to root everywhere, /proc and read-only mounts too): a
  // directory made and removed again where the checkpoints' directories would be made.
  auto probe = (at / ".herd-probe-XXXXXX").string();
  if (::mkdtemp(probe.data()) == nullptr)
    return refuse(at.string() + " is not writable (" + std::strerror(errno) + ")");
  ::rmdir(probe.c_str());
  return {};
}

} // namespace herd::apps
