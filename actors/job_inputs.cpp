#include "actors/job.hpp"

#include "config/job_parse.hpp"

namespace herd::actors {

expected<job_inputs> load_inputs(const config::job_config& cfg) {
  const auto& d = cfg.data;
  auto train = data::load_dataset(d.train_images, d.train_labels, d.train_limit);
  if (!train)
    return std::move(train.error());
  auto test = data::load_dataset(d.test_images, d.test_labels, d.test_limit);
  if (!test)
    return std::move(test.error());
  if (test->features != train->features)
    return make_error(errc::size_mismatch,
                      d.test_images + ": " + std::to_string(test->features)
                        + " features per sample, but the training set has "
                        + std::to_string(train->features));
  if (auto err = config::check_against_data(cfg, train->features, train->classes))
    return err;
  switch (d.normalize) {
    case config::normalization::standardize: {
      auto stats = data::compute_stats(*train);
      data::standardize(*train, stats);
      data::standardize(*test, stats);
      break;
    }
    case config::normalization::scale:
      break; // load_dataset already scales pixels to [0, 1]
    case config::normalization::none:
      data::standardize(*train, data::norm_stats{0.0f, 1.0f / 255.0f});
      data::standardize(*test, data::norm_stats{0.0f, 1.0f / 255.0f});
      break;
  }
  job_inputs in;
  in.cfg = cfg;
  in.train = std::make_shared<const data::dataset>(std::move(*train));
  in.test = std::make_shared<const data::dataset>(std::move(*test));
  return in;
}

} // namespace herd::actors
