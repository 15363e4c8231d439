// `herd experiment FILE [--output DIR] [--quiet]`: runs an experiment's matrix of jobs in this
// process and writes the comparison. Exit codes as for `herd run` (apps/commands.hpp).
#pragma once

#include <memory>
#include <string>

#include "kernels/compress/codec_registry.hpp"

namespace herd::apps {

struct experiment_options {
  std::string file;
  std::string output_dir; // overrides the experiment's "output" when set
  bool quiet = false;     // no per-run lines, only where the results are
  bool dry_run = false;   // check everything, list the runs, run nothing, write nothing
  std::shared_ptr<const kernels::compress::codec_registry> codecs; // assembled by main()
};

int experiment_command(const experiment_options& opts);

} // namespace herd::apps
