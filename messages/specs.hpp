// What a supervisor asks a node to spawn, and the control requests of `herd ctl`.
// A spec carries the whole job as canonical JSON (config::to_json) so a node rebuilds exactly
// the supervisor's view of it (model, slices, codecs) from the same text.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>

namespace herd::messages {

/// herd's protocol between processes: the message types and their fields. Bumped on any
/// incompatible change; a node refuses a peer of another version at the handshake (hello).
constexpr uint32_t protocol_version = 6; // 2: worker_spec::device; 3: worker_spec::next (pipeline);
                                         // 4: worker_place::carried, step_report::committed_chunk
                                         // 5: finished carries the open chunk and position;
                                         //    detach is a request (answered once done)
                                         // 6: stage_commit::data_key, Gradient.dataKey

/// Spawn shard `index` of the job, holding `members` at clock 0.
struct shard_spec {
  std::string job_json;
  uint32_t index = 0;
  uint64_t horizon = 0; // samples over the job (learning-rate schedule)
  std::vector<uint32_t> members;
  std::vector<char> snapshot; // resuming: the shard's checkpoint (ShardCheckpoint bytes)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shard_spec& x) {
  return f(caf::meta::type_name("herd::shard_spec"), x.job_json, x.index, x.horizon,
           x.members, x.snapshot);
}

/// Where a worker stands at a clock boundary: its clock and the data chunk it is working
/// through (from batch position `pos`). Sent when it holds for a checkpoint; given back when
/// a job resumes from one.
/// What a worker carries from one step to the next besides its place: the fp16 loss scaler
/// and, per slice, what its gradient codec kept back (error feedback's residual, momentum
/// correction's u and v). Empty vectors where the job keeps none.
struct carried_state {
  float loss_scale = 0; // 0: no loss scaler
  uint32_t clean_steps = 0;
  std::vector<std::vector<float>> residual;    // by slice, or empty
  std::vector<std::vector<float>> velocity;    // by slice, or empty
  std::vector<std::vector<float>> accumulated; // by slice, or empty
  bool empty() const {
    return loss_scale == 0 && residual.empty() && velocity.empty() && accumulated.empty();
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, carried_state& x) {
  return f(caf::meta::type_name("herd::carried_state"), x.loss_scale, x.clean_steps,
           x.residual, x.velocity, x.accumulated);
}

struct worker_place {
  uint32_t worker = 0;
  uint64_t clock = 0;
  bool has_chunk = false;
  uint64_t chunk_id = 0;
  uint32_t epoch = 0;
  std::vector<uint32_t> indices;
  uint64_t pos = 0;
  carried_state carried;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_place& x) {
  return f(caf::meta::type_name("herd::worker_place"), x.worker, x.clock, x.has_chunk,
           x.chunk_id, x.epoch, x.indices, x.pos, x.carried);
}

/// Spawn worker `id` of the job starting at `clock`, talking to `shards` and `supervisor`.
struct worker_spec {
  std::string job_json;
  uint32_t id = 0;
  uint64_t clock = 0;
  std::vector<caf::actor> shards;
  caf::actor supervisor;
  worker_place start; // resuming: the chunk to continue (start.has_chunk)
  uint32_t incarnation = 0; // restarts of this worker id so far; carried in every push
  std::string device = "cpu"; // "cpu" or "cuda:N" on the node that spawns it
  caf::actor next; // pipeline jobs: the replica's next stage (none for the last stage)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_spec& x) {
  return f(caf::meta::type_name("herd::worker_spec"), x.job_json, x.id, x.clock, x.shards,
           x.supervisor, x.start, x.incarnation, x.device, x.next);
}

/// A node daemon's published address, for nodes to connect to each other directly (over TLS
/// where the cluster has it) before a job's actors start talking.
struct peer {
  std::string name;
  std::string host;
  uint16_t port = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer& x) {
  return f(caf::meta::type_name("herd::peer"), x.name, x.host, x.port);
}

/// One `herd ctl` command: its words, e.g. {"add-worker", "--node", "b"}. The answer is text
/// (JSON for "status").
struct ctl_request {
  std::vector<std::string> words;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ctl_request& x) {
  return f(caf::meta::type_name("herd::ctl_request"), x.words);
}

} // namespace herd::messages
