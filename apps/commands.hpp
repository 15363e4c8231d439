// The `herd` subcommands. Each returns the process exit code:
// 0 success, 1 the job failed while running (or diverged: apps/divergence.hpp), 2 bad input
// (config, dataset, arguments), 128 + signal after SIGINT/SIGTERM (apps/interrupt_watch.hpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kernels/compress/codec_registry.hpp"

namespace herd::apps {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_bad_input = 2;

struct run_options {
  std::string job_file;
  std::string cluster;    // topology file: run on its node daemons instead of in this process
  std::string resume;     // checkpoint directory: continue from its newest whole checkpoint
  std::string output_dir; // overrides output.dir when set
  bool quiet = false;     // no progress lines, summary only
  std::shared_ptr<const kernels::compress::codec_registry> codecs; // assembled by main()
};

int run_command(const run_options& opts);

struct node_options {
  std::string topology;
  std::string name;
  bool insecure = false; // allow a non-loopback address without TLS
  std::shared_ptr<const kernels::compress::codec_registry> codecs;
};

/// Runs a node daemon until SIGINT or SIGTERM.
int node_command(const node_options& opts);

struct ctl_options {
  std::string connect;  // HOST:PORT of any node daemon
  std::string topology; // for TLS files (and the first node's address when connect is empty)
  bool json = false;    // status as JSON
  std::vector<std::string> words; // the command; empty: interactive
};

int ctl_command(const ctl_options& opts);
struct validate_options {
  std::string job_file;
  std::string cluster; // topology file: check the job as `herd run --cluster` would
  std::shared_ptr<const kernels::compress::codec_registry> codecs; // assembled by main()
};

/// The checks `herd run` makes before it loads the data (apps/job_check.hpp); prints "ok" or
/// every problem, one line each.
int validate_command(const validate_options& opts);

} // namespace herd::apps
