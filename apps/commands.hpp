// The `herd` subcommands. Each returns the process exit code:
// 0 success, 1 the job failed while running, 2 bad input (config, dataset, arguments).
#pragma once

#include <memory>
#include <string>

#include "kernels/compress/codec_registry.hpp"

namespace herd::apps {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_bad_input = 2;

struct run_options {
  std::string job_file;
  std::string output_dir; // overrides output.dir when set
  bool quiet = false;     // no progress lines, summary only
  std::shared_ptr<const kernels::compress::codec_registry> codecs; // assembled by main()
};

int run_command(const run_options& opts);
int validate_command(const std::string& job_file);

} // namespace herd::apps
