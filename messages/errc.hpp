// herd's error codes: every input-dependent failure is a caf::error built from one of these.
// Append-only: the numeric values cross node boundaries.
#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace herd {

enum class errc : uint8_t {
  none = 0,
  invalid_argument,  // a value outside its allowed range
  file_not_found,    // a path that does not exist or cannot be opened
  io_error,          // read/write failure on an existing file
  bad_format,        // wrong magic number, corrupt compression, malformed header
  size_mismatch,     // counts or dimensions that do not agree
  config_syntax,     // malformed JSON
  config_invalid,    // unknown key, wrong type or bad value in a config
  payload_invalid,   // a wire payload that fails validation
  timeout,           // a remote request that did not answer in time
  actor_failed,      // a shard, worker or evaluator ended abnormally
  network_error,     // a port that cannot be opened, a peer refused or not reachable
  device_unavailable, // a compute device this build or machine does not have (cuda:N)
  snapshot_gone,      // the parameters of an evaluation's clock are no longer kept
};

/// The error category atom under which herd errors travel in caf::error.
constexpr caf::atom_value herd_error_category = caf::atom("herd");

/// A short fixed description of the code ("file not found").
const char* to_string(errc x);

/// A caf::error carrying `code` and a human-readable context line.
caf::error make_error(errc code, std::string what);

/// One line describing any caf::error: the context line for herd errors, CAF's rendering else.
std::string describe(const caf::error& err);

/// The herd code inside `err`, or errc::none when it is not a herd error.
errc code_of(const caf::error& err);

template <class T>
using expected = caf::expected<T>;

} // namespace herd
