#include "apps/experiment_command.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "actors/job.hpp"
#include "actors/thread_limits.hpp"
#include "apps/commands.hpp"
#include "apps/experiment_config.hpp"
#include "apps/experiment_output.hpp"
#include "apps/experiment_plot.hpp"
#include "apps/experiment_report.hpp"
#include "apps/experiment_runner.hpp"
#include "apps/fatal.hpp"
#include "apps/interrupt_watch.hpp"
#include "apps/job_check.hpp"
#include "apps/metrics_file.hpp"
#include "apps/progress_printer.hpp"
#include "config/job_parse.hpp"
#include "kernels/cpu/blas_threads.hpp"

namespace herd::apps {

namespace {

namespace fs = std::filesystem;

/// One stderr line "herd: WHERE: WHAT" (WHERE left out when WHAT already starts with it).
int bad_input(const std::string& where, const std::string& what) {
  auto line = what;
  if (!where.empty() && line.rfind(where, 0) != 0)
    line = where + ": " + line;
  std::fprintf(stderr, "herd: %s\n", line.c_str());
  return exit_bad_input;
}

/// A dataset error ("<file>: no such file") with the job's JSON path of the file in front:
/// "/data/test_images: <file>: no such file"; "/data: ..." when it names no one file.
std::string data_path(const config::data_config& d, const std::string& what) {
  const std::pair<const char*, const std::string*> files[] = {
    {"train_images", &d.train_images},
    {"train_labels", &d.train_labels},
    {"test_images", &d.test_images},
    {"test_labels", &d.test_labels}};
  for (const auto& [key, file] : files)
    if (what.starts_with(*file + ": "))
      return std::string{"/data/"} + key + ": " + what;
  return "/data: " + what;
}

/// "1 run", "2 runs".
std::string count(size_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%%", std::round(1000.0 * fraction) / 10.0);
  return buf;
}

/// "run 3/27: ssp(3) one-slow seed 1: 88.9% final, 88% at 12.3s, 410 steps/s"
void print_run_line(const run_record& r, size_t index, size_t total, double target) {
  std::printf("run %zu/%zu: %s seed %llu: ", index + 1, total, r.spec.setting.c_str(),
              (unsigned long long) r.spec.seed);
  if (!r.finished()) {
    std::printf(r.result ? "diverged\n" : "failed\n");
    std::fflush(stdout);
    return;
  }
  const auto& res = *r.result;
  std::printf("%.1f%% final", 100.0 * res.final_eval.accuracy);
  if (target > 0 && res.time_to_target_s)
    std::printf(*res.time_to_target_s < 10 ? ", %s at %.2fs" : ", %s at %.1fs",
                percent(target).c_str(), *res.time_to_target_s);
  else if (target > 0)
    std::printf(", %s not reached", percent(target).c_str());
  std::printf(", %.0f steps/s\n", res.steps_per_s);
  std::fflush(stdout);
}

/// The run's own folder, as `herd run` would write it: job.json, metrics.jsonl, summary.json.
/// False when one of them could not be written (said on stderr): the experiment exits 1.
bool write_run_files(const run_record& r) {
  if (!r.result)
    return true;
  auto m = metrics_file::open(r.spec.job.output.dir, config::to_json(r.spec.job));
  if (!m) {
    std::fprintf(stderr, "herd: %s\n", describe(m.error()).c_str());
    return false;
  }
  if (auto err = (*m)->commit()) // the run is done: its files replace any earlier ones
    std::fprintf(stderr, "herd: %s\n", describe(err).c_str());
  for (const auto& e : r.result->evals)
    (*m)->write_eval(e);
  (*m)->write_summary(*r.result, r.wall_s);
  return !(*m)->failed();
}

/// results.csv, curves.csv and summary.md of the runs done so far (after each run, and at the
/// end with the plot): an interrupted experiment keeps the results of its finished runs.
caf::error write_reports(const std::string& out_dir, const experiment_config& exp,
                         const std::vector<run_record>& records, const std::string& command) {
  auto in_dir = [&](const char* name) { return (fs::path(out_dir) / name).string(); };
  for (auto err : {write_results_csv(in_dir("results.csv"), exp, records),
                   write_curves_csv(in_dir("curves.csv"), records),
                   write_summary_md(in_dir("summary.md"), exp, records, command)})
    if (err)
      return err;
  return {};
}

std::string reproduce_command(const experiment_options& opts, const std::string& out_dir) {
  auto cmd = "herd experiment " + opts.file;
  if (!opts.output_dir.empty())
    cmd += " --output " + out_dir;
  return cmd;
}

} // namespace

int experiment_command(const experiment_options& opts) {
  install_terminate_handler();
  // SIGINT or SIGTERM: the run in progress finishes and no other starts; a second aborts it.
  // Watched from the start: one that comes before the data is loaded ends it then, unrun.
  bool live = !opts.quiet && isatty(fileno(stdout));
  progress_printer printer{stdout, live, 0};
  std::mutex said_mutex;
  bool checked = false; // the data is loaded: a signal now ends the experiment after a run
  bool stop_early = false; // a signal came before: nothing is run or written
  interrupt_watch interrupts{[&](int) {
    std::lock_guard lock{said_mutex};
    if (!checked) {
      stop_early = true;
      std::fprintf(stderr, "herd: interrupted before the first run: nothing is run or written "
                           "(again to abort)\n");
      return;
    }
    printer.finish_line();
    std::fprintf(stderr, "herd: interrupted: stopping after the current run (again to abort "
                         "it; the finished runs' results are written)\n");
  }};
  auto exp = load_experiment(opts.file);
  if (!exp)
    return bad_input(opts.file, describe(exp.error()));
  if (!opts.output_dir.empty())
    exp->output = opts.output_dir;
  // Counted before any run is planned: a matrix of millions would take minutes and all memory.
  if (auto n = run_count(*exp); n > max_experiment_runs)
    return bad_input(opts.file, std::to_string(n) + " runs ("
                                  + count(exp->consistency.size(), "consistency setting") + " x "
                                  + count(exp->compression.size(), "compression setting") + " x "
                                  + count(exp->stragglers.size(), "straggler scenario") + " x "
                                  + count(exp->seeds.size(), "seed") + "); at most "
                                  + std::to_string(max_experiment_runs)
                                  + " in one experiment: split it");
  // Every run shares the base job's topology and data: check those once. Their errors name a
  // path inside the job, which is under /job when the job is inline.
  auto job_error = [&](const caf::error& err) {
    auto what = describe(err);
    if (!exp->job_file.empty())
      return bad_input(exp->job_file, what);
    return bad_input(opts.file, what.starts_with("/") ? "/job" + what : "/job: " + what);
  };
  // One checkpoint directory for all runs: run 2 would find run 1's checkpoints there.
  if (exp->job.checkpoint.every > 0 && !exp->job.checkpoint.dir.empty())
    return job_error(make_error(errc::config_invalid,
                                "/checkpoint/dir: every run of an experiment would checkpoint "
                                "into this one directory; leave it out (each run then "
                                "checkpoints into runs/<run>/checkpoints)"));
  auto runs = plan_runs(*exp);
  if (!runs)
    return bad_input(opts.file, describe(runs.error()));
  for (const auto& run : *runs) { // every run's codec settings, the rest is shared
    auto err = actors::check_supported(run.job, *opts.codecs);
    if (!err)
      continue;
    // A listed compression setting's error is in the experiment file: /compression/<k>/...
    auto what = describe(err);
    const std::string section = "/compression/";
    if (exp->compression_listed && what.starts_with(section))
      return bad_input(opts.file, section + std::to_string(run.compression) + "/"
                                    + what.substr(section.size()));
    return job_error(err);
  }
  // Every run holds the job's workers and model in this process, one run at a time.
  if (auto err = check_memory(runs->front().job))
    return job_error(err);
  if (auto err = check_threads(runs->front().job))
    return job_error(err);
  auto data = actors::load_inputs(runs->front().job);
  {
    std::lock_guard lock{said_mutex};
    checked = true;
  }
  if (stop_early)
    return 128 + interrupts.signal();
  if (!data)
    return code_of(data.error()) == errc::config_invalid
             ? job_error(data.error())
             : job_error(make_error(code_of(data.error()),
                                    data_path(runs->front().job.data, describe(data.error()))));
  data->codecs = opts.codecs;
  auto out_dir = output_dir(*exp);
  std::vector<std::string> slugs;
  for (const auto& r : *runs)
    slugs.push_back(r.slug);
  auto earlier = inspect_output_dir(out_dir, slugs);
  if (!earlier.conflicts.empty())
    return bad_input("", conflict_line(out_dir, earlier));
  if (opts.dry_run) {
    for (size_t i = 0; i < runs->size(); ++i)
      std::printf("run %zu/%zu: %s seed %llu -> %s\n", i + 1, runs->size(),
                  (*runs)[i].setting.c_str(), (unsigned long long) (*runs)[i].seed,
                  (*runs)[i].job.output.dir.c_str());
    std::printf("ok: %s on %zu training and %zu test samples; output in %s\n",
                count(runs->size(), "run").c_str(), size_t(data->train->count),
                size_t(data->test->count), out_dir.c_str());
    return exit_ok;
  }
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec)
    return bad_input(out_dir, "cannot create the output directory: " + ec.message());
  // Every run folder of the earlier experiment goes, those this one writes again too: no stale
  // result stays beside the new ones if this experiment is interrupted or a run fails.
  clear_earlier_outputs(out_dir, earlier);
  {
    std::ofstream copy{(fs::path(out_dir) / "experiment.json").string(), std::ios::trunc};
    copy << to_json(*exp);
    if (!copy)
      return bad_input(out_dir + "/experiment.json", "cannot write");
  }
  kernels::set_blas_threads(exp->job.training.blas_threads);

  auto target = exp->job.training.target_accuracy;
  if (!opts.quiet)
    printer.log("herd experiment " + exp->name + ": " + count(runs->size(), "run") + " ("
                + std::to_string(exp->consistency.size()) + " consistency x "
                + (shows_compression(*exp)
                     ? std::to_string(exp->compression.size()) + " compression x "
                     : std::string{})
                + count(exp->stragglers.size(), "straggler") + " x "
                + count(exp->seeds.size(), "seed") + ") on "
                + std::to_string(data->train->count) + " training and "
                + std::to_string(data->test->count) + " test samples; output in " + out_dir);
  std::vector<run_record> done; // the runs so far, for the reports written after each
  size_t unwritten = 0;         // runs whose own files could not all be written
  run_hooks hooks;
  hooks.on_progress = [&](const actors::progress_info& p) { printer.progress(p); };
  hooks.on_done = [&](const run_record& r, size_t index, size_t total) {
    printer.finish_line();
    if (!opts.quiet)
      print_run_line(r, index, total, target);
    if (!r.finished()) // on stderr, --quiet or not
      std::fprintf(stderr, "herd: run %zu/%zu (%s seed %llu) %s: %s\n", index + 1, total,
                   r.spec.setting.c_str(), (unsigned long long) r.spec.seed,
                   r.result ? "diverged" : "failed",
                   r.result ? r.error.substr(10).c_str() : r.error.c_str());
    if (!write_run_files(r))
      ++unwritten;
    done.push_back(r);
    if (auto err = write_reports(out_dir, *exp, done, reproduce_command(opts, out_dir)))
      std::fprintf(stderr, "herd: warning: %s\n", describe(err).c_str());
  };
  hooks.keep_going = [&] { return interrupts.signal() == 0; };
  auto records = run_experiment(*runs, *data, hooks);

  size_t failed = 0;
  for (const auto& r : records)
    failed += r.finished() ? 0 : 1;
  if (auto err = write_reports(out_dir, *exp, records, reproduce_command(opts, out_dir))) {
    std::fprintf(stderr, "herd: %s\n", describe(err).c_str());
    return exit_failed;
  }
  auto plot = write_accuracy_plot(out_dir, *exp, records);
  if (!plot.written)
    std::fprintf(stderr, "herd: warning: %s\n", plot.warning.c_str());
  std::printf("%zu of %s finished; results in %s (results.csv, curves.csv, summary.md%s)\n",
              records.size() - failed, count(runs->size(), "run").c_str(), out_dir.c_str(),
              plot.written ? ", accuracy.png" : "");
  if (auto sig = interrupts.signal())
    return 128 + sig;
  if (unwritten > 0)
    std::fprintf(stderr, "herd: the files of %zu run(s) could not all be written (see above); "
                         "exit status 1\n", unwritten);
  if (actors::thread_start_failed()) { // a run's actor system was left standing: no cleanup
    std::fflush(stdout);
    std::_Exit(exit_failed);
  }
  return failed == 0 && unwritten == 0 ? exit_ok : exit_failed;
}

} // namespace herd::apps
