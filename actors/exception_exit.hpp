// What an actor does with an exception from one of its handlers (std::bad_alloc of a model that
// barely fits, most likely): it ends with one error line naming itself, which the supervisor
// reports, instead of CAF's "*** unhandled exception" print and a bare runtime_error.
#pragma once

#include <exception>
#include <functional>
#include <string>

#include <caf/error.hpp>

namespace herd::actors {

/// "<who> failed: out of memory (std::bad_alloc)" or "<who> failed: <what()>", as actor_failed.
/// A thread that could not start (std::system_error, EAGAIN) is recorded (thread_limits.hpp).
caf::error exception_error(const std::string& who, const std::exception_ptr& eptr);

/// For set_exception_handler: ends the actor with exception_error(who, ...).
std::function<caf::error(std::exception_ptr&)> exit_on_exception(std::string who);

} // namespace herd::actors
