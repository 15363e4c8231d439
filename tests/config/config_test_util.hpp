// Small helpers shared by the config tests.
#pragma once

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "config/job_parse.hpp"

namespace herd::config::test {

/// A job with a valid model plus `members` (comma-separated top-level JSON members, or "").
inline std::string job_with(const std::string& members) {
  return R"({"model": {"layers": [4, 3]})" + (members.empty() ? "" : ", " + members) + "}";
}

/// Parses text that must be valid.
inline job_config parsed(const std::string& text) {
  std::vector<config_issue> issues;
  auto job = parse_job(text, &issues);
  INFO(text);
  INFO((job ? std::string{} : herd::describe(job.error())));
  REQUIRE(job);
  REQUIRE(issues.empty());
  return *job;
}

/// The error text of text that must be invalid (config_invalid unless `code` says otherwise).
inline std::string error_of(const std::string& text, errc code = errc::config_invalid) {
  auto job = parse_job(text);
  INFO(text);
  REQUIRE_FALSE(job);
  CHECK(herd::code_of(job.error()) == code);
  return herd::describe(job.error());
}

/// Every issue of text that must be invalid, as "PATH: MESSAGE".
inline std::vector<std::string> issues_of(const std::string& text) {
  std::vector<config_issue> issues;
  auto job = parse_job(text, &issues);
  INFO(text);
  REQUIRE_FALSE(job);
  std::vector<std::string> out;
  for (const auto& i : issues)
    out.push_back(to_string(i));
  REQUIRE_FALSE(out.empty());
  CHECK(out.front() == herd::describe(job.error()));
  return out;
}

} // namespace herd::config::test
