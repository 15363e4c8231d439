#include "apps/job_check.hpp"

#include <filesystem>
#include <system_error>

#include <unistd.h>

#include "actors/job.hpp"
#include "config/job_parse.hpp"

namespace herd::apps {

namespace fs = std::filesystem;

expected<config::job_config> load_checked_job(const std::string& job_file,
                                              const config::topology* topo,
                                              const kernels::compress::codec_registry& codecs,
                                              std::vector<config::config_issue>* issues) {
  auto job = config::load_job(job_file, issues, topo ? &topo->nodes : nullptr);
  if (!job)
    return std::move(job.error());
  auto err = actors::check_supported(*job, codecs, topo != nullptr);
  if (!err)
    return job;
  auto text = describe(err);
  if (issues != nullptr) {
    // "PATH: MESSAGE" when the text names a JSON path, as the parser's issues do.
    auto colon = text.find(": ");
    if (!text.empty() && text[0] == '/' && colon != std::string::npos)
      issues->push_back({text.substr(0, colon), text.substr(colon + 2)});
    else
      issues->push_back({"", text});
  }
  return make_error(code_of(err), job_file + ": " + text);
}

caf::error check_checkpoint_dir(const std::string& dir) {
  auto refuse = [&](const std::string& why) {
    return make_error(errc::io_error, "cannot write checkpoints to " + dir + ": " + why);
  };
  std::error_code ec;
  auto at = fs::absolute(dir, ec);
  if (ec)
    return refuse(ec.message());
  at = at.lexically_normal();
  // The nearest existing ancestor is where the directories would be created.
  while (!fs::exists(at, ec) && at.has_relative_path())
    at = at.parent_path();
  if (!fs::is_directory(at, ec))
    return refuse(at.string() + " is not a directory");
  if (::access(at.c_str(), W_OK | X_OK) != 0)
    return refuse(at.string() + " is not writable");
  return {};
}

} // namespace herd::apps
