#include "apps/fatal.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <system_error>

#include "actors/thread_limits.hpp"
#include "apps/commands.hpp"

namespace herd::apps {

namespace {

[[noreturn]] void on_terminate() {
  std::string what = "std::terminate called without an exception";
  bool no_thread = false;
  if (auto eptr = std::current_exception()) {
    try {
      std::rethrow_exception(eptr);
    } catch (const std::system_error& e) {
      what = e.what();
      no_thread = e.code() == std::errc::resource_unavailable_try_again;
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
      what = "an exception of an unknown type nothing caught";
    }
  }
  std::fflush(stdout);
  if (no_thread) {
    std::fprintf(stderr, "herd: %s\n", actors::thread_start_error(what).c_str());
    std::_Exit(exit_failed);
  }
  std::fprintf(stderr, "herd: internal error: %s\n", what.c_str());
  std::abort();
}

} // namespace

void install_terminate_handler() {
  std::set_terminate(on_terminate);
}

} // namespace herd::apps
