// A shard's checkpoint state, and a worker's carried state, to and from their Cap'n Proto
// forms (schema/checkpoint.capnp).
// Decoding validates sizes before anything is used; errors are payload_invalid.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "messages/errc.hpp"
#include "messages/specs.hpp"

namespace herd::messages {

struct shard_snapshot {
  uint32_t shard = 0;
  uint64_t offset = 0;
  uint64_t version = 0;
  uint64_t pushes = 0;
  uint64_t skipped = 0;
  std::vector<float> params;
  int64_t optimizer_steps = 0;
  uint64_t schedule_samples = 0; // samples the updates so far covered (the lr schedule's t)
  std::vector<float> momentum; // empty or params.size()
  std::vector<float> variance; // empty or params.size()
  std::vector<std::pair<uint32_t, uint64_t>> members; // worker, clock of its next push
  bool operator==(const shard_snapshot&) const = default;
};

std::vector<char> encode_shard_snapshot(const shard_snapshot& s);
expected<shard_snapshot> decode_shard_snapshot(const std::vector<char>& bytes);
/// The version (optimizer steps applied) of a shard's checkpoint, without copying its arrays.
expected<uint64_t> shard_snapshot_version(const std::vector<char>& bytes);

/// A worker's carried state (WorkerState), validated against the slice sizes `counts` when
/// decoding (every buffer empty or exactly its slice's count).
std::vector<char> encode_carried_state(const carried_state& s);
expected<carried_state> decode_carried_state(const std::vector<char>& bytes,
                                             const std::vector<uint32_t>& counts);

} // namespace herd::messages
