// The data dispenser the supervisor owns: hands out chunks of sample indices to workers so that
// every sample is consumed exactly once per epoch, even when workers go away.
//
//   new chunk ──next()──> outstanding(worker) ──done()──> counted in samples_done()
//                              │
//                         reclaim(worker)
//                              v
//                        waiting (front) ──next(any worker)──> outstanding(that worker)
//
// Each epoch is a seeded permutation of [0, samples) (epoch_permutation), cut into chunks of
// chunk_size samples; the last chunk of an epoch may be smaller, and a chunk never spans two
// epochs. Reclaimed chunks keep their id and epoch and are handed out before any new chunk.
// Plain state class: no clocks, no threads, no CAF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace herd::data {

struct chunk {
  uint64_t id = 0; // unique across epochs; the first chunk is 1, so 0 never names a chunk
  uint32_t epoch = 0;
  std::vector<uint32_t> indices;
};

/// Where a dispenser stands, for checkpoints: restoring it continues the same sequence.
struct dispenser_position {
  uint32_t epoch = 0;
  uint64_t pos = 0;
  uint64_t next_id = 1;
  uint64_t samples_done = 0;
  std::vector<chunk> waiting;
  std::vector<std::pair<uint64_t, chunk>> outstanding; // worker, chunk
};

class dispenser {
public:
  /// `epochs` == 0 means unlimited. Throws std::invalid_argument when chunk_size is 0 or samples
  /// exceeds 2^32 (a configuration that validation should have refused).
  dispenser(size_t samples, size_t chunk_size, uint64_t seed, uint32_t epochs);

  /// The next chunk for `worker`: a reclaimed one if any is waiting, else a new one. nullopt when
  /// all epochs are handed out and nothing reclaimed is waiting; this is not the end while chunks
  /// are outstanding, since a worker that goes away returns them (see finished()).
  std::optional<chunk> next(uint64_t worker);

  /// `worker` consumed chunk `chunk_id`. Ids unknown, already done, reclaimed, or held by another
  /// worker are ignored.
  void done(uint64_t worker, uint64_t chunk_id);

  /// `worker` consumed the first `samples` indices of its outstanding chunk `chunk_id` (a worker
  /// removed mid-chunk): they count as done and leave the chunk, so a reclaim() returns only the
  /// rest. The whole chunk consumed: as done(). Ids as for done() are ignored.
  void consumed(uint64_t worker, uint64_t chunk_id, size_t samples);

  /// Ids of the chunks outstanding with `worker`, in hand-out order.
  std::vector<uint64_t> held_by(uint64_t worker) const;

  /// Puts the outstanding chunks of `worker` back at the front of the queue, oldest first;
  /// returns how many.
  size_t reclaim(uint64_t worker);

  /// All epochs handed out and every chunk done. Never true with unlimited epochs.
  bool finished() const;

  /// The epoch of the next new chunk (== epochs once all are handed out).
  uint32_t epoch() const {
    return epoch_;
  }

  /// Samples in chunks reported done, over all epochs.
  uint64_t samples_done() const {
    return samples_done_;
  }

  dispenser_position position() const;
  /// Continues from `p` (taken from a dispenser over the same samples, chunk size and seed).
  void restore(const dispenser_position& p);

  /// Chunks handed out and not yet done or reclaimed.
  size_t outstanding() const {
    return outstanding_.size();
  }

  /// Reclaimed chunks waiting to be handed out again.
  size_t waiting() const {
    return waiting_.size();
  }

private:
  struct held {
    uint64_t worker;
    chunk c;
  };

  bool epochs_left() const {
    return epochs_ == 0 || epoch_ < epochs_;
  }

  size_t samples_;
  size_t chunk_size_;
  uint64_t seed_;
  uint32_t epochs_;
  uint32_t epoch_ = 0;
  std::vector<uint32_t> perm_; // permutation of epoch_; empty until its first chunk
  size_t pos_ = 0;             // next unhanded position in perm_
  uint64_t next_id_ = 1;
  uint64_t samples_done_ = 0;
  std::deque<chunk> waiting_;
  std::map<uint64_t, held> outstanding_; // by chunk id, so reclaim keeps hand-out order
};

} // namespace herd::data
