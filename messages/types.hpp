// Control-message types carried in CAF messages, with their inspect() (CAF 0.17 form).
// Bulk data travels as `payload`: a Cap'n Proto message in an owned byte buffer
// (std::vector<char> hits CAF's one-memcpy serialization path).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace herd::messages {

/// One Cap'n Proto message (ParamSlice or Gradient), see payload_codec.hpp.
struct payload {
  std::vector<char> bytes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, payload& x) {
  return f(caf::meta::type_name("herd::payload"), x.bytes);
}

/// Payloads larger than this cross processes in parts (CAF 0.17's middleman moves one 64 MiB
/// message several times slower than the same bytes as 1-4 MiB messages in flight together).
/// The leading parts travel as (part, id, payload) messages before the request or response
/// that carries the last part; messages between two actors arrive in order, so the receiver
/// appends them and decodes the whole payload when the last part comes.
constexpr uint32_t payload_part_bytes = 2u << 20;

/// Splits `p` for sending: the leading parts (each `part_bytes`) are returned, `p` keeps the
/// tail. Nothing happens when `p` is not larger than `part_bytes`.
inline std::vector<payload> split_leading_parts(payload& p, size_t part_bytes) {
  std::vector<payload> out;
  if (part_bytes == 0 || p.bytes.size() <= part_bytes)
    return out;
  size_t pos = 0;
  while (p.bytes.size() - pos > part_bytes) {
    out.push_back(payload{std::vector<char>(p.bytes.begin() + static_cast<ptrdiff_t>(pos),
                                            p.bytes.begin()
                                              + static_cast<ptrdiff_t>(pos + part_bytes))});
    pos += part_bytes;
  }
  p.bytes.erase(p.bytes.begin(), p.bytes.begin() + static_cast<ptrdiff_t>(pos));
  return out;
}

/// A data chunk handed to a worker: sample indices into the training set.
struct data_chunk {
  uint64_t id = 0;
  uint32_t epoch = 0;
  std::vector<uint32_t> indices;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, data_chunk& x) {
  return f(caf::meta::type_name("herd::data_chunk"), x.id, x.epoch, x.indices);
}

/// What a worker reports after each step.
struct step_report {
  uint32_t worker = 0;
  uint64_t clock = 0;  // steps completed
  uint32_t samples = 0;
  float loss = 0;
  uint64_t up_bytes = 0;         // gradient payloads pushed in this step
  uint64_t up_dense_bytes = 0;   // the same gradients as fp32 values
  uint64_t down_bytes = 0;       // parameter payloads pulled for this step
  uint64_t down_dense_bytes = 0; // the same parameters as fp32 values
  bool skipped = false;          // fp16 overflow: the step pushed nothing
  uint64_t encode_ns = 0;        // time spent encoding this step's gradient payloads
  double stage_idle = -1;        // pipeline stage: idle fraction of the minibatch's schedule
  // Pipeline stage 0: the chunk this minibatch committed (never handed out again), in the same
  // message as its samples, so a process killed mid-send loses both or neither.
  uint64_t committed_chunk = UINT64_MAX;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, step_report& x) {
  return f(caf::meta::type_name("herd::step_report"), x.worker, x.clock, x.samples, x.loss,
           x.up_bytes, x.up_dense_bytes, x.down_bytes, x.down_dense_bytes, x.skipped,
           x.encode_ns, x.stage_idle, x.committed_chunk);
}

/// A shard's counters, gathered by the supervisor.
struct shard_stats {
  uint32_t shard = 0;
  uint64_t version = 0;         // optimizer steps applied
  uint64_t pushes = 0;          // gradients accepted
  uint64_t refused = 0;         // payloads refused (invalid, duplicate, non-finite)
  uint64_t waiting_pulls = 0;   // deferred pulls not yet answered
  uint64_t open_rounds = 0;     // BSP rounds holding pushes
  std::vector<uint64_t> staleness_counts; // index = staleness in versions
  uint64_t staleness_max = 0;
  uint64_t waiting_pulls_max = 0; // high-water marks over the job
  uint64_t open_rounds_max = 0;
  uint64_t decoded = 0;   // gradient payloads decoded and validated (accepted or refused)
  uint64_t decode_ns = 0; // time spent on them
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shard_stats& x) {
  return f(caf::meta::type_name("herd::shard_stats"), x.shard, x.version, x.pushes, x.refused,
           x.waiting_pulls, x.open_rounds, x.staleness_counts, x.staleness_max,
           x.waiting_pulls_max, x.open_rounds_max, x.decoded, x.decode_ns);
}

/// A consistency rule as it travels: model "bsp" | "ssp" | "asp", staleness bound, awareness.
struct consistency_msg {
  std::string model;
  uint64_t staleness = 0;
  bool staleness_aware = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, consistency_msg& x) {
  return f(caf::meta::type_name("herd::consistency_msg"), x.model, x.staleness,
           x.staleness_aware);
}

/// What the evaluator measured on a parameter snapshot.
struct eval_report {
  uint64_t clock = 0;        // supervisor clock the snapshot was taken for
  uint64_t samples_seen = 0; // training samples consumed before the snapshot
  double train_s = 0;        // training time when the snapshot was taken
  double loss = 0;
  double accuracy = -1;      // -1: snapshot kept, not evaluated yet (deferred)
  double eval_seconds = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, eval_report& x) {
  return f(caf::meta::type_name("herd::eval_report"), x.clock, x.samples_seen, x.train_s,
           x.loss, x.accuracy, x.eval_seconds);
}

/// A request to the evaluator: take a snapshot for `clock`; evaluate it now, or keep it for
/// a later flush when `deferred`.
struct eval_request {
  uint64_t clock = 0;
  uint64_t samples_seen = 0;
  double train_s = 0;
  bool deferred = false;
  // The shards keep this clock's parameters (BSP): a slice of another version is not this
  // clock's, and the evaluation is skipped rather than labelled with the wrong clock.
  bool exact = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, eval_request& x) {
  return f(caf::meta::type_name("herd::eval_request"), x.clock, x.samples_seen, x.train_s,
           x.deferred, x.exact);
}

} // namespace herd::messages
