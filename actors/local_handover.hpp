// In-process handover between a worker and a shard of the same actor system: parameters and
// dense fp32 gradients as shared buffers instead of Cap'n Proto payloads (no encode, no decode,
// one copy on each side). Never serialized: a worker uses these messages only for shards on
// its own node (shard.node() == self->node()); other shards get payloads (wire format
// unchanged). Compressed gradients and non-fp32 pulls keep their payloads.
//
//   worker                         shard (same process)
//     pull, id, clock, local  --->   when ready: local_slice (copy-on-write snapshot of the
//                             <---   slice, shared by every reader of that version)
//     push, local_gradient    --->   checks place, samples, size, finiteness; push
//                             <---   version
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>

#include "messages/errc.hpp"
#include "messages/payload_codec.hpp"

namespace herd::actors {

/// A shard's slice at `version`. The buffer is immutable once sent: the shard writes a new one
/// (or reuses one nobody else holds) for the next version.
struct local_slice {
  std::shared_ptr<const std::vector<float>> values;
  uint64_t version = 0;
};

/// A dense fp32 gradient of one slice; the worker does not touch `values` after sending.
struct local_gradient {
  messages::gradient_header header;
  std::shared_ptr<const std::vector<float>> values;
};

/// The checks the payload path makes (place, samples, size, finite values), for a local
/// gradient. Returns an errc::payload_invalid error naming what is wrong.
caf::error check_local_gradient(const local_gradient& g, const messages::slice_expectation& want);

/// Returns `buf` when no one else holds it (resized to `n`), else a fresh buffer of `n` floats:
/// reuses the previous step's buffer once its reader let go of it.
std::shared_ptr<std::vector<float>> reusable_buffer(std::shared_ptr<std::vector<float>>& buf,
                                                    size_t n);

} // namespace herd::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herd::actors::local_slice)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(herd::actors::local_gradient)
