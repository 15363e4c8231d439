#include "apps/experiment_output.hpp"

#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>

namespace herd::apps {

namespace {

namespace fs = std::filesystem;

/// What an experiment writes at the top of its directory besides experiment.json.
constexpr const char* report_files[] = {"results.csv", "curves.csv",  "summary.md",
                                        "accuracy.png", "accuracy.gp", "gnuplot.log"};

/// Whether `p` exists (a broken link counts: writing there would replace it).
bool present(const fs::path& p) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(p, ec));
}

/// The run folders of the experiment recorded in DIR/experiment.json, or nothing when there is
/// none herd reads (missing, edited, of another version) or it is over the size limit.
std::optional<std::vector<std::string>> recorded_slugs(const fs::path& dir) {
  auto path = dir / "experiment.json";
  if (!present(path))
    return std::nullopt;
  auto exp = load_experiment(path.string());
  if (!exp || run_count(*exp) > max_experiment_runs)
    return std::nullopt;
  std::vector<std::string> out;
  for (const auto& c : exp->consistency)
    for (const auto& k : exp->compression)
      for (const auto& s : exp->stragglers)
        for (auto seed : exp->seeds)
          out.push_back(run_slug(*exp, c, k, s, seed));
  return out;
}

} // namespace

size_t run_count(const experiment_config& exp) {
  size_t n = 1;
  for (size_t factor : {exp.consistency.size(), exp.compression.size(), exp.stragglers.size(),
                        exp.seeds.size()})
    if (__builtin_mul_overflow(n, factor, &n))
      return std::numeric_limits<size_t>::max();
  return n;
}

earlier_outputs inspect_output_dir(const std::string& out_dir,
                                   const std::vector<std::string>& run_slugs) {
  earlier_outputs out;
  const fs::path dir{out_dir};
  auto earlier = recorded_slugs(dir);
  out.record = earlier.has_value();
  std::set<std::string> earlier_set;
  if (earlier) {
    for (const auto& slug : *earlier)
      if (earlier_set.insert(slug).second && present(dir / "runs" / slug))
        out.run_folders.push_back("runs/" + slug);
  } else {
    // Without a record, every report and experiment.json itself belongs to someone else.
    if (present(dir / "experiment.json"))
      out.conflicts.push_back("experiment.json");
    for (const char* name : report_files)
      if (present(dir / name))
        out.conflicts.push_back(name);
  }
  // A folder of this experiment's that holds what a run replaces (as `herd run --output` there
  // leaves it) and is not the earlier experiment's.
  for (const auto& slug : run_slugs) {
    if (earlier_set.count(slug) > 0)
      continue;
    for (const char* name : {"job.json", "metrics.jsonl", "summary.json"})
      if (present(dir / "runs" / slug / name)) {
        out.conflicts.push_back("runs/" + slug);
        break;
      }
  }
  return out;
}

std::string conflict_line(const std::string& out_dir, const earlier_outputs& e) {
  std::string names;
  for (size_t i = 0; i < e.conflicts.size() && i < 3; ++i)
    names += (i > 0 ? ", " : "") + e.conflicts[i];
  if (e.conflicts.size() > 3)
    names += " and " + std::to_string(e.conflicts.size() - 3) + " more";
  return out_dir + ": holds " + names + ", which "
         + (e.record ? "the earlier experiment there (experiment.json) did not write"
                     : "no earlier experiment wrote (no experiment.json of one there)")
         + " and this one would overwrite; remove them or choose another --output";
}

void clear_earlier_outputs(const std::string& out_dir, const earlier_outputs& e) {
  if (!e.record)
    return;
  std::error_code ec;
  for (const char* name : report_files)
    fs::remove(fs::path(out_dir) / name, ec);
  size_t removed = 0;
  for (const auto& folder : e.run_folders)
    if (fs::remove_all(fs::path(out_dir) / folder, ec) > 0)
      ++removed;
  if (removed > 0)
    std::fprintf(stderr, "herd: removed %zu run folder(s) of an earlier experiment from %s\n",
                 removed, (fs::path(out_dir) / "runs").c_str());
}

} // namespace herd::apps
