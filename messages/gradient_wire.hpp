// Internal to messages/: the Gradient message's common header fields, shared by the dense and
// the compressed gradient codecs.
#pragma once

#include "messages/capnp_io.hpp"
#include "messages/payload_codec.hpp"
#include "messages/schema/payload.capnp.h"

namespace herd::messages::detail {

void write_header(wire::Gradient::Builder msg, const gradient_header& h);

/// Reads and checks the header: format version, place (shard, offset, count), samples > 0.
expected<gradient_header> read_header(wire::Gradient::Reader msg,
                                      const slice_expectation& want);

/// Reads `bytes` as a Gradient message with a checked header and hands both to
/// `f(msg, header) -> expected<gradient_header>`; framing errors and malformed messages come
/// back as payload_invalid.
template <class F>
expected<gradient_header> read_gradient(const std::vector<char>& bytes,
                                        const slice_expectation& want, F f) {
  if (auto err = check_framing(bytes))
    return err;
  return guarded([&]() -> expected<gradient_header> {
    flat_reader flat{bytes};
    capnp::FlatArrayMessageReader reader(flat.words(), flat.options());
    auto msg = reader.getRoot<wire::Gradient>();
    auto h = read_header(msg, want);
    if (!h)
      return h;
    return f(msg, *h);
  });
}

} // namespace herd::messages::detail
