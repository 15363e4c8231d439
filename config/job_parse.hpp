// Job files: JSON text -> validated job_config, and back.
// Every rule and default is listed in docs/config.md. Errors are values:
//   errc::file_not_found  the job file cannot be opened          "<path>: cannot open job file: ..."
//   errc::io_error        it exists but cannot be read           "<path>: ..."
//   errc::config_syntax   malformed JSON                         "[<path>: ]malformed JSON: <reason>"
//   errc::config_invalid  anything else (unknown key, wrong type, bad value, bad reference)
// A config_invalid error's text is the first issue as "PATH: MESSAGE" (load_job prefixes the
// file's path); pass `issues` to get all of them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "config/config_issue.hpp"
#include "config/job_config.hpp"
#include "messages/errc.hpp"

namespace herd::config {

/// Parses and validates one job. Issues are collected, not just the first; all of them are
/// appended to *issues when given (also the syntax error, with path "").
herd::expected<job_config> parse_job(const std::string& json_text,
                                     std::vector<config_issue>* issues = nullptr);

/// Reads the file at `path` and parses it as parse_job does; error texts start with `path`.
/// With `nodes` (a cluster topology's), those replace the file's own "nodes" list.
herd::expected<job_config> load_job(const std::string& path,
                                    std::vector<config_issue>* issues = nullptr,
                                    const std::vector<node_config>* nodes = nullptr);

/// Checks the model against the dataset once it is loaded: the first layer must equal
/// `features` (per sample) and the last layer `classes`. config_invalid names the layer, e.g.
/// "/model/layers/0: expected 784 (the dataset's features per sample), got 100"; when both
/// disagree the two issues are joined with "; ". Returns no error when they agree.
caf::error check_against_data(const job_config& job, size_t features, int classes);

/// Canonical JSON (2-space indent, schema key order) with every default written out; shards
/// and workers always as lists. parse_job(to_json(x)) == x for every valid x.
std::string to_json(const job_config& job);

} // namespace herd::config
