// The last word of a process that meets an exception nothing caught, in any thread: one
// "herd: ..." line instead of std::terminate's text. A thread that could not start (the system's
// thread limit, actors/thread_limits.hpp) ends the process with exit status 1; anything else
// aborts as before, for a core dump.
#pragma once

namespace herd::apps {

/// Installs the handler (std::set_terminate). The commands that start actors call it first.
void install_terminate_handler();

} // namespace herd::apps
