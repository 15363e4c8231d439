// IDX writers, for tests and tools that produce small data sets.
#include "data/idx.hpp"

#include <limits>

#include "data/gz_stream.hpp"

namespace herd::data {

namespace {

void put_big_endian(std::vector<uint8_t>& out, uint32_t x) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<uint8_t>(x >> shift));
}

caf::error write_idx(const std::string& path, const std::vector<uint32_t>& dims, uint32_t magic,
                     const std::vector<uint8_t>& payload, bool gzip) {
  auto out = gz_stream::open_write(path, gzip);
  if (!out)
    return std::move(out.error());
  std::vector<uint8_t> head;
  put_big_endian(head, magic);
  for (auto d : dims)
    put_big_endian(head, d);
  if (auto err = out->write(head.data(), head.size()))
    return err;
  if (auto err = out->write(payload.data(), payload.size()))
    return err;
  return out->close();
}

} // namespace

caf::error write_idx_images(const std::string& path, const idx_images& images, bool gzip) {
  if (images.count == 0 || images.rows == 0 || images.cols == 0)
    return make_error(errc::invalid_argument,
                      path + ": cannot write IDX images with a zero dimension: "
                        + std::to_string(images.count) + " x " + std::to_string(images.rows)
                        + " x " + std::to_string(images.cols));
  const uint64_t want = uint64_t{images.count} * images.rows * images.cols;
  if (images.pixels.size() != want)
    return make_error(errc::size_mismatch,
                      path + ": cannot write IDX images: " + std::to_string(images.count) + " x "
                        + std::to_string(images.rows) + " x " + std::to_string(images.cols)
                        + " needs " + std::to_string(want) + " pixels, got "
                        + std::to_string(images.pixels.size()));
  return write_idx(path, {images.count, images.rows, images.cols}, idx_images_magic,
                   images.pixels, gzip);
}

caf::error write_idx_labels(const std::string& path, const std::vector<uint8_t>& labels,
                            bool gzip) {
  if (labels.empty() || labels.size() > std::numeric_limits<uint32_t>::max())
    return make_error(errc::invalid_argument, path + ": cannot write IDX labels: expected 1 to "
                                                + std::to_string(std::numeric_limits<uint32_t>::max())
                                                + " labels, got " + std::to_string(labels.size()));
  return write_idx(path, {static_cast<uint32_t>(labels.size())}, idx_labels_magic, labels, gzip);
}

} // namespace herd::data
