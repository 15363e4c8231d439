// Internal to messages/: building and reading flat Cap'n Proto messages in owned byte buffers,
// and the one place where Cap'n Proto's exceptions become error values.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/io.h>

#include "messages/errc.hpp"

namespace herd::messages::detail {

inline caf::error bad(std::string what) {
  return make_error(errc::payload_invalid, std::move(what));
}

/// The builder's message as one flat byte buffer.
std::vector<char> flatten(capnp::MallocMessageBuilder& builder);

/// Builds a one-segment message straight in the byte buffer it is sent in (no arena to zero
/// and copy out of): for messages whose size is known up front. Building past `words` throws
/// kj::Exception, so size generously; finish() trims the buffer to what was used.
class flat_builder {
public:
  explicit flat_builder(size_t words);
  capnp::MessageBuilder& builder() { return *builder_; }
  std::vector<char> finish();

private:
  std::vector<char> bytes_; // segment table (one segment: 8 bytes), then the segment
  kj::Own<capnp::FlatMessageBuilder> builder_;
};

/// Reads `bytes` as a flat message; copies to an aligned buffer when the vector's is not.
class flat_reader {
public:
  explicit flat_reader(const std::vector<char>& bytes);
  kj::ArrayPtr<const capnp::word> words() const { return words_; }
  capnp::ReaderOptions options() const;

private:
  kj::Array<capnp::word> copy_;
  kj::ArrayPtr<const capnp::word> words_;
};

/// Refuses buffers that cannot hold a flat message (empty, not whole 8-byte words).
caf::error check_framing(const std::vector<char>& bytes);

/// Runs `f`; malformed input (Cap'n Proto throws kj::Exception) becomes payload_invalid.
template <class F>
auto guarded(F f) -> decltype(f()) {
  try {
    return f();
  } catch (const kj::Exception& e) {
    return bad(std::string{"malformed payload: "} + e.getDescription().cStr());
  }
}

} // namespace herd::messages::detail
