#include "apps/experiment_report.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

namespace herd::apps {

namespace {

std::string fmt(const char* format, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, x);
  return buf;
}

/// Seconds with two decimals below 10 s, one above.
std::string seconds(double s) {
  return fmt(s < 10 ? "%.2f" : "%.1f", s);
}

/// "1 shard", "2 shards".
std::string count(size_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

/// "88%", "88.5%": a target accuracy as people write it.
std::string percent(double fraction) {
  return fmt("%g%%", std::round(1000.0 * fraction) / 10.0);
}

double median(std::vector<double> xs) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 == 1 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]);
}

double mean(const std::vector<double>& xs) {
  double sum = 0;
  for (double x : xs)
    sum += x;
  return xs.empty() ? 0 : sum / double(xs.size());
}

/// Sample standard deviation; 0 for fewer than 2 values.
double stddev(const std::vector<double>& xs) {
  if (xs.size() < 2)
    return 0;
  double m = mean(xs), sq = 0;
  for (double x : xs)
    sq += (x - m) * (x - m);
  return std::sqrt(sq / double(xs.size() - 1));
}

caf::error write_file(const std::string& path, const std::string& text) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << text;
  out.close();
  if (!out)
    return make_error(errc::io_error, path + ": cannot write");
  return {};
}

/// One (consistency, straggler) setting aggregated over the seeds that ran.
struct setting_stats {
  std::string consistency;
  std::string straggler;
  size_t runs = 0;   // successful runs
  size_t failed = 0;
  size_t missed = 0; // successful runs that never reached the target
  std::vector<double> ttt, steps, final_acc, p50, p99;

  /// Median time to target, only when every run reached it.
  std::optional<double> ttt_median() const {
    if (runs == 0 || missed > 0)
      return std::nullopt;
    return median(ttt);
  }
  std::string ttt_cell() const {
    if (runs == 0)
      return "-";
    if (missed > 0)
      return "not reached (" + std::to_string(missed) + "/" + std::to_string(runs) + ")";
    return seconds(median(ttt));
  }
};

std::vector<setting_stats> aggregate(const experiment_config& exp,
                                     const std::vector<run_record>& runs) {
  std::vector<setting_stats> out;
  for (const auto& c : exp.consistency)
    for (const auto& s : exp.stragglers)
      out.push_back({c.label(), s.name, 0, 0, 0, {}, {}, {}, {}, {}});
  for (const auto& r : runs) {
    auto& st = out[r.spec.consistency * exp.stragglers.size() + r.spec.straggler];
    if (!r.result) {
      ++st.failed;
      continue;
    }
    const auto& res = *r.result;
    ++st.runs;
    if (res.time_to_target_s)
      st.ttt.push_back(*res.time_to_target_s);
    else
      ++st.missed;
    st.steps.push_back(res.steps_per_s);
    st.final_acc.push_back(res.final_eval.accuracy);
    st.p50.push_back(double(res.staleness_p50));
    st.p99.push_back(double(res.staleness_p99));
  }
  return out;
}

std::string machine() {
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  return std::string{host} + ", " + std::to_string(std::thread::hardware_concurrency())
         + " hardware threads";
}

void write_ratios(std::ostringstream& md, const experiment_config& exp,
                  const std::vector<setting_stats>& stats) {
  auto bsp = std::find_if(exp.consistency.begin(), exp.consistency.end(), [](const auto& c) {
    return c.model == config::consistency_model::bsp;
  });
  md << "\n## Relative to BSP\n\n";
  if (bsp == exp.consistency.end() || exp.consistency.size() < 2) {
    md << "No ratios: the experiment needs a bsp setting and at least one other.\n";
    return;
  }
  auto b = size_t(bsp - exp.consistency.begin());
  auto n = exp.stragglers.size();
  md << "Median time to target of each setting divided by BSP's under the same stragglers "
        "(below 1: reaches the target sooner than BSP); steps/s likewise (above 1: faster).\n\n";
  for (size_t s = 0; s < n; ++s) {
    const auto& base = stats[b * n + s];
    md << "- " << exp.stragglers[s].name << ": ";
    bool first = true;
    for (size_t c = 0; c < exp.consistency.size(); ++c) {
      if (c == b)
        continue;
      const auto& st = stats[c * n + s];
      auto name = exp.consistency[c].label() + "/bsp";
      md << (first ? "" : "; ") << name << " = ";
      first = false;
      auto x = st.ttt_median(), y = base.ttt_median();
      if (x && y && *y > 0) {
        md << fmt("%.2f", *x / *y);
      } else {
        // Name the side without a median: the one whose seeds missed the target (or failed).
        const auto& lacking = x ? base : st;
        md << "n/a (" << (x ? std::string{"bsp"} : exp.consistency[c].label()) << ": "
           << (lacking.runs == 0 ? std::string{"failed"} : lacking.ttt_cell()) << ")";
      }
      if (st.runs > 0 && base.runs > 0 && median(base.steps) > 0)
        md << " (steps/s " << fmt("%.2f", median(st.steps) / median(base.steps)) << ")";
    }
    md << "\n";
  }
}

} // namespace

caf::error write_results_csv(const std::string& path, const experiment_config& exp,
                             const std::vector<run_record>& runs) {
  std::ostringstream csv;
  csv << "consistency,staleness,straggler,seed,final_accuracy,time_to_target_s,steps_per_s,"
         "samples_per_s,staleness_p50,staleness_p99,staleness_max,train_s,wall_s\n";
  for (const auto& r : runs) {
    if (!r.result)
      continue;
    const auto& c = exp.consistency[r.spec.consistency];
    const auto& res = *r.result;
    csv << c.label() << ",";
    if (c.model != config::consistency_model::asp) // asp has no bound: empty
      csv << c.staleness;
    csv << "," << exp.stragglers[r.spec.straggler].name << "," << r.spec.seed << ","
        << fmt("%.4f", res.final_eval.accuracy) << ","
        << (res.time_to_target_s ? fmt("%.3f", *res.time_to_target_s) : "") << ","
        << fmt("%.1f", res.steps_per_s) << "," << fmt("%.1f", res.samples_per_s) << ","
        << res.staleness_p50 << "," << res.staleness_p99 << "," << res.staleness_max << ","
        << fmt("%.3f", res.wall_s) << "," << fmt("%.3f", r.wall_s) << "\n";
  }
  return write_file(path, csv.str());
}

caf::error write_curves_csv(const std::string& path, const std::vector<run_record>& runs) {
  std::ostringstream csv;
  csv << "setting,seed,train_s,accuracy,clock,loss\n";
  for (const auto& r : runs) {
    if (!r.result)
      continue;
    for (const auto& e : r.result->evals)
      csv << r.spec.setting << "," << r.spec.seed << "," << fmt("%.3f", e.train_s) << ","
          << fmt("%.4f", e.accuracy) << "," << e.clock << "," << fmt("%.4f", e.loss) << "\n";
  }
  return write_file(path, csv.str());
}

caf::error write_summary_md(const std::string& path, const experiment_config& exp,
                            const std::vector<run_record>& runs, const std::string& command) {
  const auto& job = exp.job;
  auto target = job.training.target_accuracy;
  auto stats = aggregate(exp, runs);
  std::ostringstream md;
  md << "# Experiment " << exp.name << "\n\n";
  md << "Job " << (exp.job_file.empty() ? "inline" : "`" + exp.job_file + "`") << " (`"
     << job.name << "`): " << count(job.workers.size(), "worker") << ", "
     << count(job.shards.size(), "shard") << ", batch " << job.training.batch_size
     << " per worker, " << count(size_t(job.training.epochs), "epoch");
  if (job.training.max_steps > 0)
    md << " (at most " << job.training.max_steps << " clocks)";
  md << ", evaluation every " << job.training.eval_every
     << " clocks, deferred (excluded from the training clock). " << count(runs.size(), "run")
     << ": " << count(exp.consistency.size(), "consistency setting") << " x "
     << count(exp.stragglers.size(), "straggler scenario") << " x "
     << count(exp.seeds.size(), "seed") << ". Machine: " << machine() << ".\n\n";
  auto ttt_head = target > 0 ? "time to " + percent(target) + " (s, median)" : "time to target";
  md << "| consistency | stragglers | " << ttt_head
     << " | steps/s (median) | final accuracy (mean ± std) | staleness p50 | staleness p99 |\n";
  md << "|---|---|---|---|---|---|---|\n";
  for (const auto& st : stats) {
    md << "| " << st.consistency << " | " << st.straggler << " | ";
    if (st.runs == 0) {
      md << "failed | - | - | - | - |\n";
      continue;
    }
    md << (target > 0 ? st.ttt_cell() : "no target") << " | " << fmt("%.0f", median(st.steps))
       << " | " << fmt("%.2f%%", 100.0 * mean(st.final_acc)) << " ± "
       << fmt("%.2f", 100.0 * stddev(st.final_acc)) << " | " << fmt("%g", median(st.p50))
       << " | " << fmt("%g", median(st.p99)) << " |\n";
  }
  md << "\nTime to target is training wall-clock time until the first evaluation at or above "
        "the target; \"not reached (k/n)\": k of the n seeds never reached it. Staleness is "
        "in shard versions, over every applied update.\n";
  if (target > 0)
    write_ratios(md, exp, stats);
  std::vector<const run_record*> failed;
  for (const auto& r : runs)
    if (!r.result)
      failed.push_back(&r);
  if (!failed.empty()) {
    md << "\n## Failed runs\n\n";
    for (const auto* r : failed)
      md << "- " << r->spec.setting << " seed " << r->spec.seed << ": " << r->error << "\n";
  }
  md << "\n## Reproduce\n\n```\n" << command << "\n```\n\n"
     << "`experiment.json` in this folder is the same experiment with the job inlined: `herd "
        "experiment "
     << output_dir(exp)
     << "/experiment.json`, from the same working directory, reruns it without the original "
        "job file. Each run's job, evaluations and summary are under `runs/`.\n";
  return write_file(path, md.str());
}

} // namespace herd::apps
