// IDX readers. The writers live in idx_write.cpp.
#include "data/idx.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <utility>

#include "data/gz_stream.hpp"

namespace herd::data {

namespace {

// Read the payload in steps so that a header claiming gigabytes over a tiny file fails on
// truncation before allocating them all.
constexpr size_t payload_step = size_t{16} << 20;

std::string hex(uint32_t x) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08X", x);
  return buf;
}

uint32_t big_endian(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

struct header {
  std::vector<uint32_t> dims;
  uint64_t payload = 0; // product of dims, in bytes
  size_t size = 0;      // header bytes
};

// Reads and checks magic and dimensions; `kind` is "images" or "labels" for error text.
expected<header> read_header(gz_stream& in, uint32_t magic, const char* kind) {
  const auto& path = in.path();
  const uint32_t want_dims = magic & 0xFF;
  const size_t header_bytes = 4 + 4 * size_t{want_dims};
  std::array<uint8_t, 4 + 4 * 255> buf{};
  auto got = in.read(buf.data(), 4, "the IDX header");
  if (!got)
    return std::move(got.error());
  auto short_header = [&](size_t n) {
    return make_error(errc::size_mismatch, path + ": truncated IDX header: expected "
                                             + std::to_string(header_bytes) + " bytes, got "
                                             + std::to_string(n));
  };
  if (*got < 4)
    return short_header(*got);
  const uint32_t found = big_endian(buf.data());
  if (found != magic) {
    std::string hint;
    if (found == idx_images_magic)
      hint = " (an IDX image file)";
    else if (found == idx_labels_magic)
      hint = " (an IDX label file)";
    if ((found & 0xFFFFFF00) == (magic & 0xFFFFFF00)) // same element type, other rank
      return make_error(errc::bad_format,
                        path + ": wrong IDX dimension count for " + kind + ": expected "
                          + std::to_string(want_dims) + " (magic " + hex(magic) + "), got "
                          + std::to_string(found & 0xFF) + " (magic " + hex(found) + ")" + hint);
    return make_error(errc::bad_format, path + ": wrong magic for IDX " + kind + ": expected "
                                          + hex(magic) + ", got " + hex(found) + hint);
  }
  got = in.read(buf.data() + 4, 4 * size_t{want_dims}, "the IDX header");
  if (!got)
    return std::move(got.error());
  if (*got < 4 * size_t{want_dims})
    return short_header(4 + *got);
  header h;
  h.size = header_bytes;
  h.payload = 1;
  std::string shape;
  bool too_big = false;
  for (uint32_t i = 0; i < want_dims; ++i) {
    const uint32_t d = big_endian(buf.data() + 4 + 4 * i);
    h.dims.push_back(d);
    shape += (i == 0 ? "" : " x ") + std::to_string(d);
    // Stop multiplying once over the cap: three 32-bit dims could overflow 64 bits.
    if (!too_big) {
      h.payload *= d;
      too_big = h.payload > max_idx_bytes;
    }
  }
  for (auto d : h.dims)
    if (d == 0)
      return make_error(errc::bad_format, path + ": bad IDX header: zero dimension in " + shape);
  if (too_big)
    return make_error(errc::bad_format, path + ": bad IDX header: " + shape + " exceeds the "
                                          + std::to_string(max_idx_bytes) + "-byte limit");
  return h;
}

// Reads the first `keep` items (all when 0 or more than there are) of h.payload bytes; having
// read them all, checks that nothing follows (the rest is not read when `keep` stops short).
expected<std::vector<uint8_t>> read_payload(gz_stream& in, const header& h, const char* what,
                                            size_t keep) {
  const auto& path = in.path();
  std::vector<uint8_t> out;
  size_t done = 0;
  const bool whole = keep == 0 || keep >= h.dims[0];
  const auto total = whole ? static_cast<size_t>(h.payload)
                           : static_cast<size_t>(h.payload / h.dims[0] * keep);
  const auto reading = std::to_string(total) + " bytes of " + what;
  while (done < total) {
    const size_t step = std::min(total - done, payload_step);
    out.resize(done + step);
    auto got = in.read(out.data() + done, step, reading.c_str());
    if (!got)
      return std::move(got.error());
    done += *got;
    if (*got < step)
      return make_error(errc::size_mismatch, path + ": truncated IDX data: expected "
                                               + std::to_string(total) + " bytes of " + what
                                               + ", got " + std::to_string(done));
  }
  if (!whole)
    return out;
  auto rest = in.count_rest();
  if (!rest)
    return std::move(rest.error());
  if (*rest > 0)
    return make_error(errc::size_mismatch,
                      path + ": trailing data: expected the " + (in.compressed() ? "decompressed " : "")
                        + "data to end after " + std::to_string(h.size + total) + " bytes, found "
                        + std::to_string(*rest) + " more");
  if (auto err = in.close())
    return err;
  return out;
}

} // namespace

expected<idx_images> read_idx_images(const std::string& path, size_t limit) {
  auto in = gz_stream::open_read(path);
  if (!in)
    return std::move(in.error());
  auto h = read_header(*in, idx_images_magic, "images");
  if (!h)
    return std::move(h.error());
  auto pixels = read_payload(*in, *h, "pixels", limit);
  if (!pixels)
    return std::move(pixels.error());
  idx_images out;
  out.count = h->dims[0];
  out.rows = h->dims[1];
  out.cols = h->dims[2];
  out.pixels = std::move(*pixels);
  out.source = in->identity();
  return out;
}

expected<std::vector<uint8_t>> read_idx_labels(const std::string& path, size_t limit,
                                               uint32_t* count, file_identity* source) {
  auto in = gz_stream::open_read(path);
  if (!in)
    return std::move(in.error());
  auto h = read_header(*in, idx_labels_magic, "labels");
  if (!h)
    return std::move(h.error());
  if (count != nullptr)
    *count = h->dims[0];
  if (source != nullptr)
    *source = in->identity();
  return read_payload(*in, *h, "labels", limit);
}

} // namespace herd::data
