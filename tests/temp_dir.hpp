// A fresh directory under the system temp dir, removed with everything in it on destruction.
// Shared by the tests that write files (data, apps).
#pragma once

#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace herd::test {

class temp_dir {
public:
  temp_dir() {
    std::random_device rd;
    auto base = std::filesystem::temp_directory_path();
    for (;;) {
      path_ = base / ("herd-test-" + std::to_string(rd()) + std::to_string(rd()));
      if (std::filesystem::create_directory(path_))
        break;
    }
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::filesystem::path& path() const {
    return path_;
  }

  /// Path of `name` inside the directory.
  std::string file(const std::string& name) const {
    return (path_ / name).string();
  }

private:
  std::filesystem::path path_;
};

} // namespace herd::test
