#include <cstdio>
#include <optional>
#include <vector>

#include "apps/cluster.hpp"
#include "apps/commands.hpp"
#include "apps/job_check.hpp"

namespace herd::apps {

int validate_command(const validate_options& opts) {
  std::optional<config::topology> topo;
  if (!opts.cluster.empty()) {
    auto t = load_client_topology(opts.cluster);
    if (!t) {
      auto what = describe(t.error());
      if (what.rfind(opts.cluster, 0) != 0)
        what = opts.cluster + ": " + what;
      std::fprintf(stderr, "herd: %s\n", what.c_str());
      return exit_bad_input;
    }
    topo = std::move(*t);
  }
  std::vector<config::config_issue> issues;
  auto job = load_checked_job(opts.job_file, topo ? &*topo : nullptr, *opts.codecs, &issues);
  if (job) {
    std::printf("ok\n");
    return exit_ok;
  }
  if (issues.empty()) {
    std::fprintf(stderr, "herd: %s\n", describe(job.error()).c_str());
    return exit_bad_input;
  }
  for (const auto& i : issues) // "FILE: PATH: MESSAGE", or "FILE: MESSAGE" without a path
    std::fprintf(stderr, "herd: %s: %s\n", opts.job_file.c_str(), to_string(i).c_str());
  return exit_bad_input;
}

} // namespace herd::apps
