// One problem found in a config file, located by a JSON pointer.
#pragma once

#include <string>

namespace herd::config {

struct config_issue {
  std::string path;     // JSON pointer ("/workers/1/device"); "" for the document as a whole
  std::string message;  // says what was expected and what was found
  bool operator==(const config_issue&) const = default;
};

/// "PATH: MESSAGE" (just the message when the path is empty).
inline std::string to_string(const config_issue& x) {
  return x.path.empty() ? x.message : x.path + ": " + x.message;
}

} // namespace herd::config
