#include "messages/errc.hpp"

#include <caf/exit_reason.hpp>
#include <caf/make_message.hpp>
#include <caf/sec.hpp>
#include <caf/message.hpp>

namespace herd {

const char* to_string(errc x) {
  switch (x) {
    case errc::none: return "no error";
    case errc::invalid_argument: return "invalid argument";
    case errc::file_not_found: return "file not found";
    case errc::io_error: return "I/O error";
    case errc::bad_format: return "bad format";
    case errc::size_mismatch: return "size mismatch";
    case errc::config_syntax: return "config syntax error";
    case errc::config_invalid: return "invalid config";
    case errc::payload_invalid: return "invalid payload";
    case errc::timeout: return "timeout";
    case errc::actor_failed: return "actor failed";
    case errc::network_error: return "network error";
    case errc::device_unavailable: return "device unavailable";
    case errc::snapshot_gone: return "snapshot gone";
  }
  return "unknown error";
}

caf::error make_error(errc code, std::string what) {
  return caf::error{static_cast<uint8_t>(code), herd_error_category,
                    caf::make_message(std::move(what))};
}

errc code_of(const caf::error& err) {
  if (!err || err.category() != herd_error_category)
    return errc::none;
  return static_cast<errc>(err.code());
}

std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  if (err.category() == herd_error_category) {
    const auto& ctx = err.context();
    if (ctx.size() == 1 && ctx.match_element<std::string>(0))
      return ctx.get_as<std::string>(0);
    return to_string(static_cast<errc>(err.code()));
  }
  // CAF's own errors, in words, with CAF's name kept for searching.
  auto is = [&](const caf::error& known) {
    return err.code() == known.code() && err.category() == known.category();
  };
  if (is(caf::make_error(caf::sec::request_timeout)))
    return "no answer in time (request_timeout)";
  if (is(caf::make_error(caf::sec::request_receiver_down)))
    return "the actor asked is gone (request_receiver_down)";
  if (is(caf::make_error(caf::exit_reason::remote_link_unreachable)))
    return "connection lost (remote_link_unreachable)";
  return caf::to_string(err);
}

} // namespace herd
