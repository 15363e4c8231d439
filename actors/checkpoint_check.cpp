#include "actors/checkpoint_check.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>

#include "actors/optimizer_state.hpp"
#include "config/job_parse.hpp"
#include "messages/checkpoint_codec.hpp"

namespace herd::actors {

namespace {

using std::to_string;

caf::error refuse(const std::string& what) {
  return make_error(errc::config_invalid, what);
}

// The training set the checkpoint was taken on: its job's train_limit applied to the file the
// job loads (the file's count where known, else the loaded count). 0 when its job is unreadable
// (the manifest's own checks say so).
size_t checkpoint_samples(const checkpoint& c, const data::dataset& train) {
  auto job = config::parse_job(c.job_json);
  if (!job)
    return 0;
  size_t in_file = train.file_count > 0 ? train.file_count : train.count;
  auto limit = job->data.train_limit;
  return limit > 0 ? std::min(limit, in_file) : in_file;
}

caf::error check_chunk(const data::chunk& k, const std::string& whose, size_t samples,
                       uint64_t next_id) {
  if (k.id == 0 || k.id >= next_id)
    return refuse("the checkpoint's " + whose + " has id " + to_string(k.id)
                  + ", not one its data position handed out (1 to " + to_string(next_id - 1)
                  + ")");
  for (auto i : k.indices)
    if (i >= samples)
      return refuse("the checkpoint's " + whose + " holds sample index " + to_string(i)
                    + ", past the job's training set of " + to_string(samples) + " samples");
  return {};
}

// Mid-epoch, the rest of the epoch is the rest of the checkpoint's permutation of the samples:
// another /training/seed would hand out another's rest (some samples twice, some never).
caf::error check_seed(const checkpoint& c, const job_plan& plan) {
  const auto& d = c.data;
  bool mid_epoch = d.pos > 0 || !d.waiting.empty() || !d.outstanding.empty()
                   || std::any_of(c.workers.begin(), c.workers.end(),
                                  [](const auto& w) { return w.has_chunk; });
  auto job = config::parse_job(c.job_json);
  if (!mid_epoch || !job || job->training.seed == plan.cfg.training.seed)
    return {};
  return refuse("the checkpoint was taken in the middle of epoch " + to_string(d.epoch + 1)
                + " under /training/seed " + to_string(job->training.seed) + ", the job has "
                + to_string(plan.cfg.training.seed) + ": the rest of that epoch's order would "
                + "be another's (keep the seed, or resume from a checkpoint between epochs)");
}

caf::error check_data(const checkpoint& c, const job_plan& plan, const data::dataset& train) {
  if (auto err = check_seed(c, plan))
    return err;
  const auto samples = train.count;
  const auto& d = c.data;
  auto taken_on = checkpoint_samples(c, train);
  if (taken_on > 0 && taken_on != samples)
    return refuse("the checkpoint's data position is of a training set of " + to_string(taken_on)
                  + " samples, the job has " + to_string(samples) + " (/data/train_limit)");
  if (d.pos > 0 && d.pos >= samples)
    return refuse("the checkpoint's data position (sample " + to_string(d.pos) + " of epoch "
                  + to_string(d.epoch + 1) + ") is past the job's training set of "
                  + to_string(samples) + " samples");
  auto epochs = uint64_t(std::max(0, plan.cfg.training.epochs));
  if (epochs > 0 && (d.epoch > epochs || (d.epoch == epochs && d.pos > 0)))
    return refuse("the checkpoint's data position is in epoch " + to_string(d.epoch + 1)
                  + ", the job has " + to_string(epochs) + " (/training/epochs)");
  if (d.next_id == 0)
    return refuse("the checkpoint's data position names no next chunk (next_id 0)");
  for (const auto& k : d.waiting)
    if (auto err = check_chunk(k, "waiting chunk " + to_string(k.id), samples, d.next_id))
      return err;
  for (const auto& [w, k] : d.outstanding)
    if (auto err = check_chunk(k, "chunk " + to_string(k.id) + " outstanding with worker "
                                    + to_string(w),
                               samples, d.next_id))
      return err;
  for (const auto& w : c.workers) {
    if (!w.has_chunk)
      continue;
    auto whose = "chunk " + to_string(w.chunk.id) + " of worker " + to_string(w.worker);
    if (auto err = check_chunk(w.chunk, whose, samples, d.next_id))
      return err;
    if (w.pos > w.chunk.indices.size())
      return refuse("the checkpoint's worker " + to_string(w.worker) + " is at position "
                    + to_string(w.pos) + " of its chunk of " + to_string(w.chunk.indices.size())
                    + " samples");
  }
  return {};
}

caf::error check_workers(const checkpoint& c) {
  if (c.clock > max_checkpoint_clock)
    return refuse("the checkpoint's clock " + to_string(c.clock)
                  + " is past any a job reaches (2^53)");
  std::set<uint32_t> seen;
  for (const auto& w : c.workers) {
    auto who = "the checkpoint's worker " + to_string(w.worker);
    if (w.worker >= c.next_worker_id)
      return refuse(who + " is not below its next worker id " + to_string(c.next_worker_id));
    if (!seen.insert(w.worker).second)
      return refuse(who + " is listed twice");
    if (w.clock < c.clock || w.clock - c.clock > max_worker_lead)
      return refuse(who + " is at clock " + to_string(w.clock) + ", the checkpoint at "
                    + to_string(c.clock) + " (a worker holds at most "
                    + to_string(max_worker_lead) + " clocks past it)");
  }
  return {};
}

caf::error check_shard(const checkpoint& c, const job_plan& plan, uint32_t i) {
  auto s = messages::decode_shard_snapshot(c.shards[i]);
  auto which = "the checkpoint's shard " + to_string(i);
  if (!s)
    return refuse(which + ": " + describe(s.error()));
  const auto& slice = plan.slices[i];
  if (s->shard != i || s->offset != slice.offset || s->params.size() != slice.count)
    return refuse(which + " is shard " + to_string(s->shard) + " at offset "
                  + to_string(s->offset) + " with " + to_string(s->params.size())
                  + " values, the job's is at offset " + to_string(slice.offset) + " with "
                  + to_string(slice.count));
  // As make_shard: under momentum correction the momentum lives on the workers.
  auto opt = plan.cfg.optimizer;
  if (plan.cfg.compression.momentum_correction) {
    opt.momentum = 0;
    opt.nesterov = false;
  }
  optimizer_state want(opt, slice.count);
  if (s->momentum.size() != want.momentum().size()
      || s->variance.size() != want.variance().size() || s->optimizer_steps < 0)
    return refuse(which + " holds the state of another optimizer (momentum of "
                  + to_string(s->momentum.size()) + " values, second moment of "
                  + to_string(s->variance.size()) + "); the job's optimizer (/optimizer, "
                  + "/compression/momentum_correction) keeps " + to_string(want.momentum().size())
                  + " and " + to_string(want.variance().size()));
  // A job resumed from non-finite values trains nothing; only a damaged or forged file holds
  // them (a worker never pushes a non-finite gradient).
  auto bad_value = [&](const std::vector<float>& v, const char* what, bool signed_ok) {
    for (size_t k = 0; k < v.size(); ++k)
      if (!std::isfinite(v[k]) || (!signed_ok && v[k] < 0.0f))
        return refuse(which + "'s " + what + " " + to_string(k) + " is "
                      + (std::isnan(v[k]) ? "NaN" : std::isinf(v[k]) ? "infinite" : "negative")
                      + ": the checkpoint is damaged");
    return caf::error{};
  };
  if (auto err = bad_value(s->params, "parameter", true))
    return err;
  if (auto err = bad_value(s->momentum, "momentum value", true))
    return err;
  if (auto err = bad_value(s->variance, "second-moment value", false))
    return err;
  std::map<uint32_t, uint64_t> want_members;
  for (const auto& w : c.workers) {
    auto of = plan.shards_of(w.worker);
    if (std::find(of.begin(), of.end(), i) != of.end())
      want_members[w.worker] = w.clock;
  }
  std::map<uint32_t, uint64_t> members(s->members.begin(), s->members.end());
  for (const auto& [w, clock] : members) {
    auto it = want_members.find(w);
    if (it == want_members.end())
      return refuse(which + " has worker " + to_string(w) + " as a member, a worker the "
                    + "checkpoint does not list");
    if (it->second != clock)
      return refuse(which + " has worker " + to_string(w) + " at clock " + to_string(clock)
                    + ", the checkpoint lists it at " + to_string(it->second));
  }
  for (const auto& [w, clock] : want_members)
    if (members.count(w) == 0)
      return refuse(which + " does not have the checkpoint's worker " + to_string(w)
                    + " as a member");
  return {};
}

} // namespace

caf::error check_checkpoint(const checkpoint& c, const job_plan& plan,
                            const data::dataset& train) {
  if (c.shards.size() != plan.slices.size())
    return refuse("the checkpoint has " + to_string(c.shards.size()) + " shard(s), the job "
                  + to_string(plan.slices.size()));
  if (auto err = check_workers(c))
    return err;
  if (auto err = check_data(c, plan, train))
    return err;
  for (uint32_t i = 0; i < c.shards.size(); ++i)
    if (auto err = check_shard(c, plan, i))
      return err;
  return {};
}

} // namespace herd::actors
