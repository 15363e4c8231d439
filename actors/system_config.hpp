// The actor-system configuration every herd process uses: message types, the herd error
// category, and scheduler settings sized for the machine. The one place that maps herd's
// settings to CAF's.
#pragma once

#include <chrono>

#include <caf/actor_system_config.hpp>

namespace herd::actors {

/// A connection that carries nothing, not even CAF's heartbeat (one a second), for this long
/// is closed: its peer is taken as gone (node down).
constexpr std::chrono::seconds peer_silence_limit{20};

class system_config : public caf::actor_system_config {
public:
  system_config();
};

} // namespace herd::actors
