// Internal to config/: the "nodes" list shared by job files and cluster topologies.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/job_config.hpp"
#include "config/json_reader.hpp"

namespace herd::config::detail {

extern const std::string name_rule;

/// Letters, digits, '_', '.' and '-', at least one; not "." or ".." (names are path parts).
bool valid_name(std::string_view s);
/// Whether `c` may appear in a name.
bool name_char(char c);

/// Reads root's "nodes" (absent: `out` keeps its default). Returns false when it has issues.
bool read_nodes(object_reader& root, std::vector<node_config>& out);

} // namespace herd::config::detail
