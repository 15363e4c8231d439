#include "apps/experiment_report.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "apps/experiment_stats.hpp"

namespace herd::apps {

namespace {

/// "1 shard", "2 shards".
std::string count(size_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

/// "88%", "88.5%": a target accuracy as people write it.
std::string percent(double fraction) {
  return fmt("%g%%", std::round(1000.0 * fraction) / 10.0);
}

caf::error write_file(const std::string& path, const std::string& text) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << text;
  out.close();
  if (!out)
    return make_error(errc::io_error, path + ": cannot write");
  return {};
}

std::string machine() {
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  return std::string{host} + ", " + std::to_string(std::thread::hardware_concurrency())
         + " hardware threads";
}

/// Final accuracy minus the dense setting's, seed by seed, in points: "-0.12 ± 0.05".
std::string vs_dense_cell(const setting_stats& st, const setting_stats& dense) {
  std::vector<double> diffs;
  for (size_t i = 0; i < st.seeds.size(); ++i)
    for (size_t j = 0; j < dense.seeds.size(); ++j)
      if (dense.seeds[j] == st.seeds[i])
        diffs.push_back(100.0 * (st.final_acc[i] - dense.final_acc[j]));
  if (diffs.empty())
    return "-";
  return fmt("%+.2f", mean(diffs)) + " ± " + fmt("%.2f", stddev(diffs));
}

std::string ratios_cell(const setting_stats& st) {
  auto one = [](const std::vector<double>& xs) {
    return xs.empty() ? std::string{"-"} : ratio_text(median(xs));
  };
  return one(st.up_ratio) + " / " + one(st.down_ratio);
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
  auto nk = exp.compression.size();
  bool comp = shows_compression(exp);
  md << "Median time to target of each setting divided by BSP's under the same "
     << (comp ? "compression and stragglers" : "stragglers")
     << " (below 1: reaches the target sooner than BSP); steps/s likewise (above 1: "
        "faster).\n\n";
  for (size_t i = 0; i < nk * n; ++i) {
    auto k = i / n, s = i % n;
    const auto& base = stats[(b * nk + k) * n + s];
    md << "- "
       << (comp ? "compression " + exp.compression[k].name + ", stragglers " : std::string{})
       << exp.stragglers[s].name << ": ";
    bool first = true;
    for (size_t c = 0; c < exp.consistency.size(); ++c) {
      if (c == b)
        continue;
      const auto& st = stats[(c * nk + k) * n + s];
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
           << (lacking.runs > 0     ? lacking.ttt_cell()
               : lacking.failed > 0 ? std::string{"failed"}
                                    : std::string{"not run"}) // interrupted before it
           << ")";
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
         "samples_per_s,staleness_p50,staleness_p99,staleness_max,train_s,wall_s,compression,"
         "up_bytes_per_step,down_bytes_per_step,up_ratio,down_ratio,encode_us_per_step,"
         "decode_us_per_step\n";
  for (const auto& r : runs) {
    if (!r.finished())
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
        << fmt("%.3f", res.wall_s) << "," << fmt("%.3f", r.wall_s) << ","
        << exp.compression[r.spec.compression].name << ","
        << fmt("%.1f", per_step(res.up_bytes, res.steps)) << ","
        << fmt("%.1f", per_step(res.down_bytes, res.steps)) << ",";
    auto up = ratio(res.up_dense_bytes, res.up_bytes);
    auto down = ratio(res.down_dense_bytes, res.down_bytes);
    csv << (up ? fmt("%.3f", *up) : "") << "," << (down ? fmt("%.3f", *down) : "") << ","
        << fmt("%.1f", res.encode_us_per_step()) << "," << fmt("%.1f", res.decode_us_per_step())
        << "\n";
  }
  return write_file(path, csv.str());
}

caf::error write_curves_csv(const std::string& path, const std::vector<run_record>& runs) {
  std::ostringstream csv;
  csv << "setting,seed,train_s,accuracy,clock,loss\n";
  for (const auto& r : runs) {
    if (!r.finished())
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
  bool comp = shows_compression(exp);
  auto dense_k = comp ? dense_setting(exp) : std::nullopt;
  const bool dense = dense_k.has_value();
  const size_t ref = dense_k.value_or(0); // the reference compression setting when `dense`
  std::ostringstream md;
  md << "# Experiment " << exp.name << "\n\n";
  md << "Job " << (exp.job_file.empty() ? "inline" : "`" + exp.job_file + "`") << " (`"
     << job.name << "`): " << count(job.workers.size(), "worker") << ", "
     << count(job.shards.size(), "shard") << ", batch " << job.training.batch_size
     << " per worker, " << count(size_t(job.training.epochs), "epoch");
  if (job.training.max_steps > 0)
    md << " (at most " << job.training.max_steps << " clocks)";
  md << ", evaluation every " << job.training.eval_every
     << " clocks, deferred (excluded from the training clock). ";
  auto planned = exp.consistency.size() * exp.compression.size() * exp.stragglers.size()
                 * exp.seeds.size();
  if (runs.size() < planned) // written after each run: an interrupted experiment shows so
    md << runs.size() << " of " << count(planned, "run") << " done so far";
  else
    md << count(runs.size(), "run");
  md << ": " << count(exp.consistency.size(), "consistency setting") << " x "
     << (comp ? count(exp.compression.size(), "compression setting") + " x " : std::string{})
     << count(exp.stragglers.size(), "straggler scenario") << " x "
     << count(exp.seeds.size(), "seed") << ". Machine: " << machine() << ".\n\n";
  auto ttt_head = target > 0 ? "time to " + percent(target) + " (s, median)" : "time to target";
  std::vector<std::string> head = {"consistency"};
  if (comp)
    head.push_back("compression");
  for (std::string h : {"stragglers", ttt_head.c_str(), "steps/s (median)",
                        "final accuracy (mean ± std)"})
    head.push_back(h);
  if (dense)
    head.push_back("accuracy vs dense (points)");
  if (comp)
    for (const char* h : {"uplink KiB/step", "compression ratio (up / down)", "encode µs/step",
                          "decode µs/step"})
      head.push_back(h);
  for (const char* h : {"staleness p50", "staleness p99"})
    head.push_back(h);
  md << "|";
  for (const auto& h : head)
    md << " " << h << " |";
  md << "\n|";
  for (size_t i = 0; i < head.size(); ++i)
    md << "---|";
  md << "\n";
  const auto nk = exp.compression.size(), ns = exp.stragglers.size();
  for (size_t i = 0; i < stats.size(); ++i) {
    const auto& st = stats[i];
    md << "| " << st.consistency << " | " << (comp ? st.compression + " | " : "") << st.straggler
       << " | ";
    if (st.runs == 0) {
      md << (st.failed > 0 ? "failed" : "not run");
      for (size_t col = (comp ? 4 : 3); col < head.size(); ++col)
        md << " | -";
      md << " |\n";
      continue;
    }
    md << (target > 0 ? st.ttt_cell() : "no target") << " | " << fmt("%.0f", median(st.steps))
       << " | " << fmt("%.2f%%", 100.0 * mean(st.final_acc)) << " ± "
       << fmt("%.2f", 100.0 * stddev(st.final_acc)) << " | ";
    if (dense) {
      auto k = (i / ns) % nk;
      auto reference = (i / (ns * nk) * nk + ref) * ns + i % ns;
      md << (k == ref ? std::string{"reference"} : vs_dense_cell(st, stats[reference]))
         << " | ";
    }
    if (comp)
      md << fmt("%.1f", median(st.up_kib)) << " | " << ratios_cell(st) << " | "
         << fmt("%.1f", median(st.encode_us)) << " | " << fmt("%.1f", median(st.decode_us))
         << " | ";
    md << fmt("%g", median(st.p50)) << " | " << fmt("%g", median(st.p99)) << " |\n";
  }
  md << "\nTime to target is training wall-clock time until the first evaluation at or above "
        "the target; \"not reached (k/n)\": k of the n seeds never reached it. Staleness is "
        "in shard versions, over every applied update.\n";
  if (comp)
    md << "\nUplink KiB/step: gradient bytes pushed per worker step, as sent (median over "
          "seeds). Compression ratio: the same values' size as fp32 divided by the bytes sent, "
          "for pushes (up) and parameter pulls (down). Encode and decode µs/step: time spent "
          "encoding a worker step's gradient (on the worker) and decoding and validating it (on "
          "the shards, all slices together), per worker step (median over seeds); wall-clock "
          "time on shared cores, so it includes waiting for a core when the machine is busy.";
  if (dense)
    md << " Accuracy vs dense: final accuracy minus that of `"
       << exp.compression[ref].name
       << "` (the reference) under the same consistency and stragglers, seed by seed, in "
          "percentage points (mean ± std over the seeds).";
  if (comp)
    md << "\n";
  if (target > 0)
    write_ratios(md, exp, stats);
  std::vector<const run_record*> failed;
  for (const auto& r : runs)
    if (!r.finished())
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
