// Internal to messages/: the Gradient message's common header fields, shared by the dense and
// the compressed gradient codecs.
#pragma once

#include "messages/payload_codec.hpp"
#include "messages/schema/payload.capnp.h"

namespace herd::messages::detail {

void write_header(wire::Gradient::Builder msg, const gradient_header& h);

/// Reads and checks the header: format version, place (shard, offset, count), samples > 0.
expected<gradient_header> read_header(wire::Gradient::Reader msg,
                                      const slice_expectation& want);

} // namespace herd::messages::detail
