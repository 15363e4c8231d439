#include "actors/job.hpp"

#include "actors/compute_backend.hpp"
#include "model/stages.hpp"

#include "actors/gradient_codec.hpp"
#include "config/job_parse.hpp"

namespace herd::actors {

caf::error check_pipeline(const config::job_config& cfg) {
  int k = cfg.parallelism.pipeline_stages;
  if (k <= 1)
    return {};
  auto refuse = [](const std::string& path, const std::string& what) {
    return make_error(errc::config_invalid, path + ": " + what);
  };
  model::mlp net(cfg.model.layers);
  auto cut = model::cut_stages(net, k);
  if (!cut.error.empty())
    return refuse("/parallelism/pipeline_stages", cut.error);
  auto ks = std::to_string(k);
  if (cfg.workers.empty() || cfg.workers.size() % size_t(k) != 0)
    return refuse("/workers", "with " + ks + " pipeline stages the list holds replicas x " + ks
                                + " entries (replica r's stage k is entry r*" + ks
                                + "+k), got " + std::to_string(cfg.workers.size()));
  for (size_t i = 0; i < cfg.workers.size(); ++i)
    if (cfg.workers[i].device != "cpu")
      return refuse("/workers/" + std::to_string(i) + "/device",
                    "pipeline stages compute on the CPU; use \"cpu\"");
  if (cfg.shards.size() < size_t(k))
    return refuse("/shards", "a job with " + ks + " pipeline stages needs at least " + ks
                               + " shards (a shard holds parameters of one stage only), got "
                               + std::to_string(cfg.shards.size()));
  return {};
}

caf::error check_supported(const config::job_config& cfg,
                           const kernels::compress::codec_registry& codecs, bool cluster) {
  if (auto err = check_compression(cfg, codecs))
    return err;
  auto refuse = [](const std::string& path, const std::string& what) {
    return make_error(errc::config_invalid, path + ": " + what);
  };
  if (auto err = check_pipeline(cfg))
    return err;
  if (cluster) // each node checks the devices of the workers it is asked to run
    return {};
  for (size_t i = 0; i < cfg.workers.size(); ++i)
    if (auto err = check_device(cfg.workers[i].device))
      return make_error(code_of(err),
                        "/workers/" + std::to_string(i) + "/device: " + describe(err));
  for (size_t i = 0; i < cfg.shards.size(); ++i)
    if (cfg.shards[i].node != cfg.nodes.front().name)
      return refuse("/shards/" + std::to_string(i) + "/node",
                    "jobs across nodes run on node daemons (herd run --cluster); in one process use \""
                      + cfg.nodes.front().name + "\"");
  for (size_t i = 0; i < cfg.workers.size(); ++i)
    if (cfg.workers[i].node != cfg.nodes.front().name)
      return refuse("/workers/" + std::to_string(i) + "/node",
                    "jobs across nodes run on node daemons (herd run --cluster); in one process use \""
                      + cfg.nodes.front().name + "\"");
  return {};
}

expected<job_inputs> load_inputs(const config::job_config& cfg) {
  const auto& d = cfg.data;
  auto train = data::load_dataset(d.train_images, d.train_labels, d.train_limit);
  if (!train)
    return std::move(train.error());
  auto test = data::load_dataset(d.test_images, d.test_labels, d.test_limit);
  if (!test)
    return std::move(test.error());
  if (test->features != train->features)
    return make_error(errc::size_mismatch, // either may be the odd one: both are named
                      "the training and test images differ in size: " + d.train_images + " has "
                        + std::to_string(train->features) + " values per image, "
                        + d.test_images + " has " + std::to_string(test->features));
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
