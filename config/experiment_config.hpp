// Experiment files: a base job and the matrix of settings `herd experiment` runs it under
// (consistency models x compression settings x straggler scenarios x seeds). The format is in
// docs/experiments.md.
// Errors are values, as for job files: config_invalid texts are "FILE: /json/path: message".
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/job_config.hpp"
#include "messages/errc.hpp"

namespace herd::config {

/// One entry of "consistency": the model every run of this setting uses from the start.
struct consistency_setting {
  config::consistency_model model = config::consistency_model::bsp;
  int staleness = 0;            // ssp only
  bool staleness_aware = false; // ssp/asp only
  /// "bsp", "ssp(3)", "asp", "asp+sa" (staleness-aware): unique within an experiment.
  std::string label() const;
  /// The label in characters safe for file names: "bsp", "ssp3", "asp-sa".
  std::string slug() const;
  bool operator==(const consistency_setting&) const = default;
};

/// One entry of "stragglers": the complete straggler setup of the job's workers. Workers not
/// named get no straggler (factor 1); `all` applies to every worker, `workers` then overrides it.
struct straggler_scenario {
  std::string name; // a name of letters, digits, '_', '.' or '-'
  std::optional<config::straggler_config> all;
  std::map<size_t, config::straggler_config> workers; // by worker index
  bool operator==(const straggler_scenario&) const = default;
};

/// One entry of "compression": the whole compression section of the job for this setting's runs
/// (keys it leaves out take the job-file defaults, not the base job's values).
struct compression_setting {
  std::string name;                   // unique within an experiment; default_name(section)
  config::compression_config section;
  /// The name in characters safe for file names: "topk0.1pct-ef", "bf16-pull-bf16".
  std::string slug() const;
  bool operator==(const compression_setting&) const = default;
};

/// The name of a setting given without one, from what its codec uses: "none", "fp16",
/// "topk0.1%+ef", "topk0.1%+mc+warmup1000", "sign+ef", "qsgd4", "bf16/pull-fp16".
std::string default_name(const config::compression_config& c);

struct experiment_config {
  std::string name = "experiment";
  config::job_config job;  // the base job, validated
  std::string job_file;    // the job file it came from, "" when inline
  std::vector<consistency_setting> consistency;  // non-empty
  /// Non-empty, names and slugs distinct. Without "compression" in the file: one setting, the
  /// base job's own section, and `compression_listed` false.
  std::vector<compression_setting> compression = {compression_setting{"none", {}}};
  bool compression_listed = false;
  std::vector<straggler_scenario> stragglers = {straggler_scenario{"none", {}, {}}};
  std::vector<uint64_t> seeds = {1};              // non-empty, distinct
  std::string output;      // "" = runs/<name>
};

/// Parses an experiment from JSON text. A relative "job" path is resolved against `base_dir`.
/// `source` (the file name) prefixes every error text when non-empty.
expected<experiment_config> parse_experiment(const std::string& text,
                                             const std::string& base_dir,
                                             const std::string& source = "");

/// Reads and parses the experiment file at `path`.
expected<experiment_config> load_experiment(const std::string& path);

/// Where the experiment writes: `output`, or runs/<name> when that is empty.
std::string output_dir(const experiment_config& exp);

/// Whether reports name the compression setting: the experiment has more than one, or its one
/// setting is not dense fp32 both ways. Otherwise labels, folders and summary.md read as they
/// do without a compression dimension.
bool shows_compression(const experiment_config& exp);

/// A run's folder under <output>/runs: "ssp3-one-slow-seed2", with the compression slug after
/// the consistency when shows_compression: "bsp-topk0.1pct-ef-none-seed1".
std::string run_slug(const experiment_config& exp, const consistency_setting& c,
                     const compression_setting& k, const straggler_scenario& s, uint64_t seed);

/// The job of one run: the base job with the setting's consistency model, the compression
/// setting's section, the scenario's stragglers, training.seed = model.init_seed = seed and
/// deferred evaluation, validated again by a round trip through to_json and parse_job.
expected<config::job_config> job_for_run(const experiment_config& exp,
                                         const consistency_setting& c,
                                         const compression_setting& k,
                                         const straggler_scenario& s, uint64_t seed);

/// The experiment as JSON with the job inlined and every default written out: running it
/// again reproduces the experiment without the original job file.
std::string to_json(const experiment_config& exp);

} // namespace herd::config
