#include "actors/exception_exit.hpp"

#include <new>
#include <system_error>

#include "actors/thread_limits.hpp"
#include "messages/errc.hpp"

namespace herd::actors {

caf::error exception_error(const std::string& who, const std::exception_ptr& eptr) {
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(eptr);
  } catch (const std::bad_alloc& e) {
    what = std::string("out of memory (") + e.what() + ")";
  } catch (const std::system_error& e) {
    what = e.what();
    if (e.code() == std::errc::resource_unavailable_try_again) { // a spawn found no thread
      note_thread_start_failure();
      what = thread_start_error(e.what());
    }
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  return make_error(errc::actor_failed, who + " failed: " + what);
}

std::function<caf::error(std::exception_ptr&)> exit_on_exception(std::string who) {
  return [who = std::move(who)](std::exception_ptr& eptr) { return exception_error(who, eptr); };
}

} // namespace herd::actors
