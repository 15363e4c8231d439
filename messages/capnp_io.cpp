#include "messages/capnp_io.hpp"

namespace herd::messages::detail {

namespace {

constexpr uint64_t max_words = uint64_t{1} << 31; // 16 GiB: above any slice we send

} // namespace

std::vector<char> flatten(capnp::MallocMessageBuilder& builder) {
  auto words = capnp::computeSerializedSizeInWords(builder);
  std::vector<char> bytes(words * sizeof(capnp::word));
  kj::ArrayOutputStream out(
    kj::arrayPtr(reinterpret_cast<kj::byte*>(bytes.data()), bytes.size()));
  capnp::writeMessage(out, builder);
  return bytes;
}

flat_builder::flat_builder(size_t words) : bytes_((words + 1) * sizeof(capnp::word)) {
  // std::vector's storage comes from operator new: aligned for words. capnp needs it zeroed,
  // which the vector's value-initialisation does.
  auto* seg = reinterpret_cast<capnp::word*>(bytes_.data()) + 1;
  builder_ = kj::heap<capnp::FlatMessageBuilder>(kj::arrayPtr(seg, words));
}

std::vector<char> flat_builder::finish() {
  auto segments = builder_->getSegmentsForOutput();
  KJ_REQUIRE(segments.size() == 1, "flat message built in more than one segment");
  uint32_t table[2] = {0, static_cast<uint32_t>(segments[0].size())}; // count - 1, size
  std::memcpy(bytes_.data(), table, sizeof table);
  bytes_.resize((segments[0].size() + 1) * sizeof(capnp::word));
  builder_ = nullptr;
  return std::move(bytes_);
}

flat_reader::flat_reader(const std::vector<char>& bytes) {
  const char* data = bytes.data();
  if (reinterpret_cast<uintptr_t>(data) % sizeof(capnp::word) != 0) {
    copy_ = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
    std::memcpy(copy_.begin(), data, copy_.size() * sizeof(capnp::word));
    data = reinterpret_cast<const char*>(copy_.begin());
  }
  words_ = kj::arrayPtr(reinterpret_cast<const capnp::word*>(data),
                        bytes.size() / sizeof(capnp::word));
}

capnp::ReaderOptions flat_reader::options() const {
  capnp::ReaderOptions opts;
  opts.traversalLimitInWords = max_words;
  return opts;
}

caf::error check_framing(const std::vector<char>& bytes) {
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0)
    return bad("malformed payload: " + std::to_string(bytes.size())
               + " bytes is not a whole number of 8-byte words");
  return {};
}

} // namespace herd::messages::detail
