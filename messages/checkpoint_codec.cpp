#include "messages/checkpoint_codec.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "messages/capnp_io.hpp"
#include "messages/schema/checkpoint.capnp.h"

namespace herd::messages {

namespace {

using detail::bad;

void put(capnp::Data::Builder dst, const std::vector<float>& v) {
  if (!v.empty())
    std::memcpy(dst.begin(), v.data(), v.size() * sizeof(float));
}

// `data` as floats: empty, or exactly `count` of them (when `optional`, empty is fine).
caf::error get(capnp::Data::Reader data, uint32_t count, bool optional, const char* what,
               std::vector<float>& out) {
  if (data.size() == 0 && optional)
    return {};
  if (data.size() != size_t{count} * sizeof(float))
    return bad(std::string{"checkpoint: "} + what + " holds " + std::to_string(data.size())
               + " bytes, expected " + std::to_string(size_t{count} * sizeof(float)));
  out.resize(count);
  std::memcpy(out.data(), data.begin(), data.size());
  return {};
}

} // namespace

std::vector<char> encode_shard_snapshot(const shard_snapshot& s) {
  capnp::MallocMessageBuilder builder;
  auto msg = builder.initRoot<wire::ShardCheckpoint>();
  msg.setFormatVersion(wire::CHECKPOINT_VERSION);
  msg.setShard(s.shard);
  msg.setOffset(s.offset);
  msg.setCount(static_cast<uint32_t>(s.params.size()));
  msg.setVersion(s.version);
  msg.setPushes(s.pushes);
  msg.setSkipped(s.skipped);
  put(msg.initParams(s.params.size() * sizeof(float)), s.params);
  msg.setOptimizerSteps(s.optimizer_steps);
  msg.setScheduleSamples(s.schedule_samples);
  put(msg.initMomentum(s.momentum.size() * sizeof(float)), s.momentum);
  put(msg.initVariance(s.variance.size() * sizeof(float)), s.variance);
  auto members = msg.initMembers(static_cast<unsigned>(s.members.size()));
  for (size_t i = 0; i < s.members.size(); ++i) {
    members[static_cast<unsigned>(i)].setWorker(s.members[i].first);
    members[static_cast<unsigned>(i)].setClock(s.members[i].second);
  }
  return detail::flatten(builder);
}

expected<uint64_t> shard_snapshot_version(const std::vector<char>& bytes) {
  if (auto err = detail::check_framing(bytes))
    return err;
  return detail::guarded([&]() -> expected<uint64_t> {
    detail::flat_reader flat{bytes};
    capnp::FlatArrayMessageReader reader(flat.words(), flat.options());
    return reader.getRoot<wire::ShardCheckpoint>().getVersion();
  });
}

expected<shard_snapshot> decode_shard_snapshot(const std::vector<char>& bytes) {
  if (auto err = detail::check_framing(bytes))
    return err;
  return detail::guarded([&]() -> expected<shard_snapshot> {
    detail::flat_reader flat{bytes};
    capnp::FlatArrayMessageReader reader(flat.words(), flat.options());
    auto msg = reader.getRoot<wire::ShardCheckpoint>();
    if (msg.getFormatVersion() != wire::CHECKPOINT_VERSION)
      return bad("shard checkpoint has format version " + std::to_string(msg.getFormatVersion())
                 + ", expected " + std::to_string(wire::CHECKPOINT_VERSION));
    shard_snapshot s;
    s.shard = msg.getShard();
    s.offset = msg.getOffset();
    s.version = msg.getVersion();
    s.pushes = msg.getPushes();
    s.skipped = msg.getSkipped();
    s.optimizer_steps = msg.getOptimizerSteps();
    s.schedule_samples = msg.getScheduleSamples();
    auto count = msg.getCount();
    if (auto err = get(msg.getParams(), count, false, "params", s.params))
      return err;
    if (auto err = get(msg.getMomentum(), count, true, "momentum", s.momentum))
      return err;
    if (auto err = get(msg.getVariance(), count, true, "variance", s.variance))
      return err;
    for (auto m : msg.getMembers())
      s.members.emplace_back(m.getWorker(), m.getClock());
    return s;
  });
}

namespace {

// Per slice: every buffer of `from` empty, or exactly the slices' count.
void put_slices(capnp::List<wire::SliceState>::Builder out,
                const std::vector<std::vector<float>>& from,
                capnp::Data::Builder (wire::SliceState::Builder::*init)(unsigned)) {
  for (size_t i = 0; i < from.size(); ++i) {
    auto b = out[static_cast<unsigned>(i)];
    put((b.*init)(static_cast<unsigned>(from[i].size() * sizeof(float))), from[i]);
  }
}

} // namespace

std::vector<char> encode_carried_state(const carried_state& s) {
  capnp::MallocMessageBuilder builder;
  auto msg = builder.initRoot<wire::WorkerState>();
  msg.setFormatVersion(wire::CHECKPOINT_VERSION);
  msg.setLossScale(s.loss_scale);
  msg.setCleanSteps(s.clean_steps);
  auto n = std::max({s.residual.size(), s.velocity.size(), s.accumulated.size()});
  auto slices = msg.initSlices(static_cast<unsigned>(n));
  put_slices(slices, s.residual, &wire::SliceState::Builder::initResidual);
  put_slices(slices, s.velocity, &wire::SliceState::Builder::initVelocity);
  put_slices(slices, s.accumulated, &wire::SliceState::Builder::initAccumulated);
  return detail::flatten(builder);
}

expected<carried_state> decode_carried_state(const std::vector<char>& bytes,
                                             const std::vector<uint32_t>& counts) {
  if (auto err = detail::check_framing(bytes))
    return err;
  return detail::guarded([&]() -> expected<carried_state> {
    detail::flat_reader flat{bytes};
    capnp::FlatArrayMessageReader reader(flat.words(), flat.options());
    auto msg = reader.getRoot<wire::WorkerState>();
    if (msg.getFormatVersion() != wire::CHECKPOINT_VERSION)
      return bad("worker state has format version " + std::to_string(msg.getFormatVersion())
                 + ", expected " + std::to_string(wire::CHECKPOINT_VERSION));
    carried_state s;
    s.loss_scale = msg.getLossScale();
    s.clean_steps = msg.getCleanSteps();
    if (!(s.loss_scale >= 0) || !std::isfinite(s.loss_scale))
      return bad("worker state: loss scale " + std::to_string(s.loss_scale));
    auto slices = msg.getSlices();
    if (slices.size() != 0 && slices.size() != counts.size())
      return bad("worker state holds " + std::to_string(slices.size()) + " slices, the job "
                 + std::to_string(counts.size()));
    s.residual.resize(slices.size());
    s.velocity.resize(slices.size());
    s.accumulated.resize(slices.size());
    for (unsigned i = 0; i < slices.size(); ++i) {
      if (auto err = get(slices[i].getResidual(), counts[i], true, "residual", s.residual[i]))
        return err;
      if (auto err = get(slices[i].getVelocity(), counts[i], true, "velocity", s.velocity[i]))
        return err;
      if (auto err = get(slices[i].getAccumulated(), counts[i], true, "accumulated",
                         s.accumulated[i]))
        return err;
    }
    // A buffer no slice keeps is not kept at all (as the encoder saved it).
    for (auto* v : {&s.residual, &s.velocity, &s.accumulated})
      if (std::all_of(v->begin(), v->end(), [](const auto& b) { return b.empty(); }))
        v->clear();
    return s;
  });
}

} // namespace herd::messages
