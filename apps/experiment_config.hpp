// The experiment-file types live in config/ (parsed like job files); apps/ uses them by name.
#pragma once

#include "config/experiment_config.hpp"

namespace herd::apps {

using config::compression_setting;
using config::consistency_setting;
using config::default_name;
using config::experiment_config;
using config::job_for_run;
using config::load_experiment;
using config::output_dir;
using config::parse_experiment;
using config::run_slug;
using config::shows_compression;
using config::straggler_scenario;
using config::to_json;

} // namespace herd::apps
