// The actor-system configuration every herd process uses: message types, the herd error
// category, and scheduler settings sized for the machine. The one place that maps herd's
// settings to CAF's.
#pragma once

#include <caf/actor_system_config.hpp>

namespace herd::actors {

class system_config : public caf::actor_system_config {
public:
  system_config();
};

} // namespace herd::actors
