#include <catch2/catch.hpp>

#include <set>
#include <string>

#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>

#include "messages/errc.hpp"

using herd::errc;

TEST_CASE("errc: every code has its own message", "[messages]") {
  std::set<std::string> seen;
  for (int i = 0; i <= static_cast<int>(errc::device_unavailable); ++i) {
    std::string msg = herd::to_string(static_cast<errc>(i));
    CHECK(msg != "unknown error");
    CHECK(seen.insert(msg).second);
  }
}

TEST_CASE("errc: make_error carries the code and the context line", "[messages]") {
  auto err = herd::make_error(errc::size_mismatch, "a.idx: expected 10 labels, got 9");
  CHECK(herd::code_of(err) == errc::size_mismatch);
  CHECK(herd::describe(err) == "a.idx: expected 10 labels, got 9");
  CHECK(herd::code_of(caf::error{}) == errc::none);
}

TEST_CASE("errc: describe puts CAF's common errors in words and keeps CAF's name",
          "[messages]") {
  CHECK(herd::describe(caf::make_error(caf::sec::request_timeout))
        == "no answer in time (request_timeout)");
  CHECK(herd::describe(caf::make_error(caf::exit_reason::remote_link_unreachable))
        == "connection lost (remote_link_unreachable)");
  CHECK(herd::describe(caf::make_error(caf::sec::unexpected_message)) // others as CAF says
        == caf::to_string(caf::make_error(caf::sec::unexpected_message)));
}
