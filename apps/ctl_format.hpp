// `herd ctl status` as a table, from the JSON the supervisor answers with.
#pragma once

#include <string>
#include <vector>

namespace herd::apps {

/// The status JSON as aligned text tables (job line, nodes, shards, workers). Text that is not
/// a status object comes back unchanged.
std::string status_table(const std::string& status_json);

/// What the prompt's tab completion offers from a status JSON: node names (a node without a
/// job: its own) and the ids of active workers.
struct status_names {
  std::vector<std::string> nodes;
  std::vector<std::string> workers;
};
status_names names_in_status(const std::string& status_json);

} // namespace herd::apps
