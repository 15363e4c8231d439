#include <cstdio>
#include <vector>

#include "apps/commands.hpp"
#include "config/job_parse.hpp"

namespace herd::apps {

int validate_command(const std::string& job_file) {
  std::vector<config::config_issue> issues;
  auto job = config::load_job(job_file, &issues);
  if (job) {
    std::printf("ok\n");
    return exit_ok;
  }
  if (issues.empty()) {
    std::fprintf(stderr, "herd: %s\n", describe(job.error()).c_str());
    return exit_bad_input;
  }
  for (const auto& i : issues)
    std::fprintf(stderr, "herd: %s: %s: %s\n", job_file.c_str(), i.path.c_str(),
                 i.message.c_str());
  return exit_bad_input;
}

} // namespace herd::apps
