#include "apps/experiment_plot.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

namespace herd::apps {

namespace {

namespace fs = std::filesystem;

// Colour per consistency setting (per compression setting when the experiment names them),
// dash pattern per straggler scenario (per consistency and scenario).
constexpr const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                   "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
constexpr size_t n_colours = sizeof colours / sizeof colours[0];

/// The first executable `name` on PATH, or "" when there is none.
std::string find_on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr)
    return "";
  std::string_view rest{path};
  while (!rest.empty()) {
    auto colon = rest.find(':');
    auto dir = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    auto candidate = (fs::path(dir.empty() ? "." : dir) / name).string();
    if (access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return "";
}

/// Seconds gnuplot may run: HERD_GNUPLOT_TIMEOUT_S when set (a positive whole number), else 60.
/// 0 after setting `error` when the variable holds anything else.
int gnuplot_timeout_s(std::string& error) {
  const char* text = std::getenv("HERD_GNUPLOT_TIMEOUT_S");
  if (text == nullptr)
    return 60;
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(text, &end, 10);
  if (*text < '0' || *text > '9' || *end != '\0' || errno != 0 || v <= 0 || v > 86400) {
    error = std::string{"HERD_GNUPLOT_TIMEOUT_S: expected a whole number of seconds from 1 to "
                        "86400, got \""} + text + "\"";
    return 0;
  }
  return static_cast<int>(v);
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

/// The run drawn for each setting: the first listed seed that succeeded; null when none did.
std::vector<const run_record*> drawn_runs(const experiment_config& exp,
                                          const std::vector<run_record>& runs) {
  std::vector<const run_record*> out(
    exp.consistency.size() * exp.compression.size() * exp.stragglers.size(), nullptr);
  for (const auto& r : runs) {
    auto& slot = out[setting_index(exp, r.spec)];
    if (slot == nullptr && r.finished() && !r.result->evals.empty())
      slot = &r;
  }
  return out;
}

std::string script(const experiment_config& exp, const std::vector<const run_record*>& drawn) {
  std::ostringstream gp;
  bool one_seed = true;
  const run_record* any = nullptr;
  for (const auto* r : drawn) {
    if (r == nullptr)
      continue;
    one_seed = one_seed && (any == nullptr || any->spec.seed == r->spec.seed);
    any = any ? any : r;
  }
  gp << "# herd experiment " << exp.name << ": test accuracy against training time.\n"
     << "# Written by herd with the data inline; rerun in this folder: gnuplot accuracy.gp\n"
     << "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
     << "  set terminal pngcairo size 1000,650 noenhanced font \",10\"\n"
     << "} else {\n"
     << "  set terminal png size 1000,650 noenhanced\n"
     << "}\n"
     << "set output \"accuracy.png\"\n"
     << "set title \"" << exp.name << ": test accuracy vs training time ("
     << (one_seed && any ? "seed " + std::to_string(any->spec.seed)
                         : std::string{"first successful seed"})
     << " per setting; evaluation deferred)\"\n"
     << "set xlabel \"training wall-clock time (s)\"\n"
     << "set ylabel \"test accuracy (%)\"\n"
     << "set key bottom right\n"
     << "set grid\n";
  auto target = exp.job.training.target_accuracy;
  if (target > 0) {
    char t[32];
    std::snprintf(t, sizeof t, "%g", 100.0 * target);
    gp << "set arrow from graph 0, first " << t << " to graph 1, first " << t
       << " nohead dt 3 lc rgb \"gray40\"\n"
       << "set label \"target " << t << "%\" at graph 0.01, first " << t
       << " offset 0,0.6 tc rgb \"gray40\"\n";
  }
  std::vector<std::string> curves;
  bool comp = shows_compression(exp);
  for (size_t i = 0; i < drawn.size(); ++i) {
    const auto* r = drawn[i];
    if (r == nullptr)
      continue;
    gp << "$d" << i << " << EOD\n";
    for (const auto& e : r->result->evals) {
      char line[64];
      std::snprintf(line, sizeof line, "%.3f %.3f\n", e.train_s, 100.0 * e.accuracy);
      gp << line;
    }
    gp << "EOD\n";
    auto title = r->spec.setting + (one_seed ? "" : " (seed " + std::to_string(r->spec.seed) + ")");
    const auto& s = r->spec;
    auto colour = comp ? s.compression : s.consistency;
    auto dash = comp ? s.consistency * exp.stragglers.size() + s.straggler : s.straggler;
    curves.push_back("$d" + std::to_string(i) + " using 1:2 with linespoints lc rgb \""
                     + colours[colour % n_colours] + "\" dt " + std::to_string(dash % 5 + 1)
                     + " lw 2 pt 7 ps 0.5 title \"" + title + "\"");
  }
  gp << "plot ";
  for (size_t i = 0; i < curves.size(); ++i)
    gp << (i == 0 ? "" : ", \\\n     ") << curves[i];
  gp << "\n";
  return gp.str();
}

} // namespace

plot_outcome write_accuracy_plot(const std::string& dir, const experiment_config& exp,
                                 const std::vector<run_record>& runs) {
  auto drawn = drawn_runs(exp, runs);
  bool any = false;
  for (const auto* r : drawn)
    any = any || r != nullptr;
  if (!any)
    return {false, "no run finished with evaluations; accuracy.png not drawn"};
  auto script_path = (fs::path(dir) / "accuracy.gp").string();
  {
    std::ofstream out{script_path, std::ios::trunc};
    out << script(exp, drawn);
    if (!out)
      return {false, script_path + ": cannot write; accuracy.png not drawn"};
  }
  auto gnuplot = find_on_path("gnuplot");
  if (gnuplot.empty())
    return {false, "gnuplot not found (install gnuplot-nox); accuracy.png not drawn, "
                   "accuracy.gp written"};
  std::string error;
  int limit_s = gnuplot_timeout_s(error);
  if (limit_s == 0)
    return {false, error + "; accuracy.png not drawn, accuracy.gp written"};
  auto png = fs::path(dir) / "accuracy.png";
  auto log = (fs::path(dir) / "gnuplot.log").string();
  std::error_code ec;
  fs::remove(png, ec);
  // A gnuplot that hangs must not hold the experiment: coreutils `timeout` runs it in a process
  // group of its own, sends TERM to the group after the limit and KILL 5 s later (exit 124 or
  // 137). Without `timeout` on PATH it runs unbounded, as `system` would.
  auto limiter = find_on_path("timeout");
  auto cmd = "cd " + shell_quote(dir) + " && "
             + (limiter.empty() ? std::string{}
                                : shell_quote(limiter) + " -k 5 " + std::to_string(limit_s) + " ")
             + shell_quote(gnuplot) + " accuracy.gp </dev/null >gnuplot.log 2>&1";
  int status = std::system(cmd.c_str());
  bool timed_out = !limiter.empty() && status != -1 && WIFEXITED(status)
                   && (WEXITSTATUS(status) == 124 || WEXITSTATUS(status) == 137);
  if (timed_out)
    return {false, "gnuplot did not finish in " + std::to_string(limit_s) + " s and was stopped "
                     "(see " + log + "); accuracy.png not drawn"};
  if (status != 0 || !fs::exists(png))
    return {false, "gnuplot failed (see " + log + "); accuracy.png not drawn"};
  fs::remove(log, ec);
  return {true, ""};
}

} // namespace herd::apps
