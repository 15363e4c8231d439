// The checks `herd run` makes before it loads any data, shared with `herd validate` so that
// validate says ok exactly when run would go on to the data.
#pragma once

#include <string>
#include <vector>

#include "config/config_issue.hpp"
#include "config/job_config.hpp"
#include "config/topology.hpp"
#include "kernels/compress/codec_registry.hpp"
#include "messages/errc.hpp"

namespace herd::apps {

/// Loads `job_file` (with `topo`'s nodes when given: herd run/validate --cluster) and checks it
/// against what this build supports (codecs, placements, pipeline and compression rules).
/// Error texts start with `job_file`; every parser issue, or the one support issue, is appended
/// to *issues when given.
expected<config::job_config> load_checked_job(const std::string& job_file,
                                              const config::topology* topo,
                                              const kernels::compress::codec_registry& codecs,
                                              std::vector<config::config_issue>* issues = nullptr);

/// Whether checkpoints could be written under `dir` (created when absent) without creating or
/// changing anything: the directory, or its nearest existing ancestor, is a writable directory.
/// The error names `dir` and the reason.
caf::error check_checkpoint_dir(const std::string& dir);

} // namespace herd::apps
