// Checkpoint files: one directory per checkpoint, `ckpt-<clock>/`, holding one Cap'n Proto file
// per shard and one per worker that carries state to its next step (error-feedback residuals,
// the loss scale; schema/checkpoint.capnp) and `manifest.json` with the job, the clock, the
// consistency rule, the data position, every worker's place, and a CRC-32 of every file (and
// of the manifest itself). Written into `ckpt-<clock>.tmp/`, each file fsynced, then renamed,
// so a checkpoint is whole or absent (a failed write removes its .tmp); the newest `keep` are
// kept. Only names of the exact form `ckpt-<digits>` are checkpoints: other entries are never
// pruned nor loaded.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "data/dispenser.hpp"
#include "messages/errc.hpp"
#include "messages/types.hpp"

namespace herd::actors {

struct worker_position {
  uint32_t worker = 0;
  std::string node;
  uint64_t clock = 0;       // the step it takes next
  bool has_chunk = false;   // working through `chunk` from batch position `pos`
  data::chunk chunk;
  uint64_t pos = 0;
  std::string device = "cpu"; // where it computes ("cuda:N"); older manifests: the job file's
  // What it carried to its next step (messages::carried_state as WorkerState bytes, in
  // `worker-<id>.capnp`); empty when it kept nothing (or in older checkpoints).
  std::vector<char> carried;
};

struct checkpoint {
  uint64_t clock = 0;              // every worker's next step (a clock boundary)
  std::string job_json;            // the job as it ran
  messages::consistency_msg rule;  // in force at `clock`
  data::dispenser_position data;
  std::vector<worker_position> workers;
  uint64_t samples = 0;
  uint64_t steps = 0;
  uint64_t skipped = 0;
  uint32_t next_worker_id = 0;
  messages::step_report wire; // bytes up/down (sent and fp32) and encode time, summed
  std::vector<std::vector<char>> shards; // ShardCheckpoint bytes, by shard index
  // The test set measured on these parameters when the checkpoint was taken (-1: not measured).
  double accuracy = -1;
  double loss = 0;
  // Where load_latest_checkpoint found it ("" when not loaded from a directory).
  std::string source;
};

/// A checkpoint directory's name: `ckpt-<digits>` (and `ckpt-<digits>.tmp`, a write under way or
/// left by one that failed); anything else is not one. `clock` gets the digits' value.
bool is_checkpoint_name(const std::string& name, uint64_t* clock = nullptr, bool tmp = false);

/// The checkpoints (`ckpt-<digits>` directories) under `dir`, by clock, oldest first; empty when
/// `dir` is missing. `ec` (optional) gets why `dir` could not be read.
std::vector<std::pair<uint64_t, std::string>> checkpoints_in(const std::string& dir,
                                                             std::error_code* ec = nullptr);

/// Writes `c` under `dir` and removes all but the newest `keep`; returns the new directory.
expected<std::string> write_checkpoint(const std::string& dir, const checkpoint& c, int keep);

/// The newest checkpoint under `dir` whose files all match their checksums. Each newer one
/// that does not (truncated, flipped bytes, missing files) is skipped with a line in `notes`.
expected<checkpoint> load_latest_checkpoint(const std::string& dir,
                                            std::vector<std::string>* notes = nullptr);

} // namespace herd::actors
