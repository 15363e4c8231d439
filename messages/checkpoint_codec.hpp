// A shard's checkpoint state to and from its Cap'n Proto form (schema/checkpoint.capnp).
// Decoding validates sizes before anything is used; errors are payload_invalid.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "messages/errc.hpp"

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

} // namespace herd::messages
