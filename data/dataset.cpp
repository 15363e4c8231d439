#include "data/dataset.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "data/idx.hpp"

namespace herd::data {

const float* dataset::row(size_t i) const {
  assert(i < count);
  return x.data() + i * features;
}

expected<dataset> load_dataset(const std::string& images, const std::string& labels,
                               size_t limit) {
  auto img = read_idx_images(images, limit);
  if (!img)
    return std::move(img.error());
  uint32_t labels_in_file = 0;
  file_identity labels_source;
  auto lab = read_idx_labels(labels, limit, &labels_in_file, &labels_source);
  if (!lab)
    return std::move(lab.error());
  if (img->count != labels_in_file)
    return make_error(errc::size_mismatch,
                      "image and label counts differ: " + images + " has "
                        + std::to_string(img->count) + " images, " + labels + " has "
                        + std::to_string(labels_in_file) + " labels");
  dataset d;
  for (size_t i = 0; i < lab->size(); ++i)
    if ((*lab)[i] >= d.classes)
      return make_error(errc::bad_format, labels + ": label " + std::to_string(i) + " is "
                                            + std::to_string((*lab)[i]) + ", expected 0 to "
                                            + std::to_string(d.classes - 1));
  d.file_count = img->count;
  d.count = lab->size(); // the first `limit`, or all
  d.features = size_t{img->rows} * img->cols;
  d.x.resize(d.count * d.features);
  const auto& px = img->pixels;
  std::transform(px.begin(), px.begin() + static_cast<std::ptrdiff_t>(d.x.size()), d.x.begin(),
                 [](uint8_t p) { return static_cast<float>(p) / 255.0f; });
  d.y = std::move(*lab);
  d.images_source = img->source;
  d.labels_source = labels_source;
  return d;
}

bool same_files(const dataset& d, const std::string& images, const std::string& labels) {
  auto now_images = identify_file(images);
  auto now_labels = identify_file(labels);
  return now_images && now_labels && *now_images == d.images_source
         && *now_labels == d.labels_source;
}

norm_stats compute_stats(const dataset& d) {
  norm_stats s;
  if (d.x.empty())
    return s;
  // Two passes with double accumulators: 47M floats summed in float lose several digits, and
  // sum-of-squares minus squared mean loses precision; constant data gets stddev 1.
  double sum = 0;
  float lo = d.x[0], hi = d.x[0];
  for (float v : d.x) {
    sum += v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  const double n = static_cast<double>(d.x.size());
  const double mean = sum / n;
  double sq = 0;
  for (float v : d.x)
    sq += (v - mean) * (v - mean);
  const double var = sq / n;
  s.mean = static_cast<float>(mean);
  s.stddev = lo < hi && var > 0 ? static_cast<float>(std::sqrt(var)) : 1.0f;
  return s;
}

void standardize(dataset& d, const norm_stats& s) {
  assert(s.stddev > 0);
  for (auto& v : d.x)
    v = (v - s.mean) / s.stddev;
}

} // namespace herd::data
