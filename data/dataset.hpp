// An in-memory classification data set: features as floats, labels as bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/file_identity.hpp"
#include "messages/errc.hpp"

namespace herd::data {

struct dataset {
  size_t count = 0;
  size_t features = 0;
  int classes = 10;
  size_t file_count = 0;  // samples in the files before any limit (0: not from files, = count)
  std::vector<float> x;   // count*features, row-major
  std::vector<uint8_t> y; // count labels in [0, classes)
  file_identity images_source, labels_source; // the files read, as they were when opened

  /// The features of sample `i` (i < count).
  const float* row(size_t i) const;
};

/// Loads an IDX image file and its IDX label file (gzip or plain); pixels are scaled to [0, 1].
/// `limit` > 0 keeps the first `limit` samples. Errors: those of read_idx_images/labels,
/// size_mismatch when the two files disagree on the count, bad_format for a label >= classes.
expected<dataset> load_dataset(const std::string& images, const std::string& labels,
                               size_t limit = 0);

/// Whether the files now at `images` and `labels` are the ones `d` was read from (same device,
/// inode, size, mtime and ctime): false once either was rewritten, replaced or removed.
bool same_files(const dataset& d, const std::string& images, const std::string& labels);

struct norm_stats {
  float mean = 0, stddev = 1;
};

/// Mean and population standard deviation over all features of all samples (one scalar pair, as
/// is usual for MNIST-like data). stddev is 1 when the data is constant or empty.
norm_stats compute_stats(const dataset& d);

/// x = (x - mean) / stddev, in place. Use the training set's stats for the test set too.
void standardize(dataset& d, const norm_stats& s);

} // namespace herd::data
