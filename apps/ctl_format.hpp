// `herd ctl status` as a table, from the JSON the supervisor answers with.
#pragma once

#include <string>

namespace herd::apps {

/// The status JSON as aligned text tables (job line, nodes, shards, workers). Text that is not
/// a status object comes back unchanged.
std::string status_table(const std::string& status_json);

} // namespace herd::apps
