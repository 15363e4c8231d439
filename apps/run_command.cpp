#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/job.hpp"
#include "actors/system_config.hpp"
#include "actors/thread_limits.hpp"
#include "apps/cluster.hpp"
#include "apps/commands.hpp"
#include "apps/divergence.hpp"
#include "apps/fatal.hpp"
#include "apps/interrupt_watch.hpp"
#include "apps/job_check.hpp"
#include "apps/metrics_file.hpp"
#include "apps/progress_printer.hpp"
#include "config/job_parse.hpp"
#include "kernels/cpu/blas_threads.hpp"
#include "messages/atoms.hpp"
#include "messages/specs.hpp"

namespace herd::apps {

namespace {

int bad_input(const std::string& where, const caf::error& err) {
  auto what = describe(err);
  if (!where.empty() && what.rfind(where, 0) != 0)
    what = where + ": " + what;
  std::fprintf(stderr, "herd: %s\n", what.c_str());
  return exit_bad_input;
}

std::string layers_text(const std::vector<int>& layers) {
  std::string out = "[";
  for (size_t i = 0; i < layers.size(); ++i)
    out += (i ? ", " : "") + std::to_string(layers[i]);
  return out + "]";
}

// What of `job` does not fit a checkpoint taken by `saved` (the shards' slices and optimizer
// state would not match), naming both; "" when it fits.
std::string resume_mismatch(const config::job_config& saved, const config::job_config& job,
                            const std::string& job_file) {
  auto differ = [&](const std::string& what, const std::string& path, const std::string& was,
                    const std::string& asked) {
    return "the checkpoint is of " + what + " " + was + ", " + job_file + ": " + path
           + " asks for " + asked;
  };
  if (saved.model.layers != job.model.layers)
    return differ("a model with layers", "/model/layers", layers_text(saved.model.layers),
                  layers_text(job.model.layers));
  if (saved.shards.size() != job.shards.size())
    return differ("a job with shard count", "/shards", std::to_string(saved.shards.size()),
                  std::to_string(job.shards.size()));
  if (saved.optimizer.type != job.optimizer.type)
    return differ("a job with optimizer", "/optimizer/type", to_string(saved.optimizer.type),
                  to_string(job.optimizer.type));
  return "";
}

} // namespace

int run_command(const run_options& opts) {
  install_terminate_handler();
  std::optional<config::topology> topo;
  if (!opts.cluster.empty()) {
    auto t = load_client_topology(opts.cluster);
    if (!t)
      return bad_input(opts.cluster, t.error());
    topo = std::move(*t);
  }
  auto job = load_checked_job(opts.job_file, topo ? &*topo : nullptr, *opts.codecs);
  if (!job)
    return bad_input(opts.job_file, job.error());
  if (!opts.output_dir.empty())
    job->output.dir = opts.output_dir;
  if (job->checkpoint.every > 0) // checkpoints are written here, by the supervisor
    if (auto err = check_checkpoint_dir(config::checkpoint_dir(*job)))
      return bad_input(job->checkpoint.dir.empty() ? "" : opts.job_file + ": /checkpoint/dir",
                       err);
  // SIGINT or SIGTERM: the first stops the job as `herd ctl stop` does (one that comes while
  // the data loads stops the job as soon as it starts), a second aborts.
  std::mutex steer_mutex;
  caf::actor supervisor; // set while the job runs
  bool stop_asked = false, job_over = false;
  progress_printer* shown = nullptr; // once the progress printer exists
  auto send_stop = [](const caf::actor& sup) {
    caf::anon_send(sup, ctl_atom::value, messages::ctl_request{{"stop"}});
  };
  interrupt_watch interrupts{[&](int) {
    std::lock_guard lock{steer_mutex};
    if (shown) // a live progress line ends first
      shown->finish_line();
    std::fprintf(stderr, "herd: interrupted: stopping after the current steps (again to abort)\n");
    stop_asked = true;
    if (supervisor && !job_over)
      send_stop(supervisor);
  }};
  auto inputs = actors::load_inputs(*job);
  if (!inputs)
    return bad_input(code_of(inputs.error()) == errc::config_invalid ? opts.job_file : "",
                     inputs.error());
  inputs->codecs = opts.codecs;
  if (!opts.resume.empty()) {
    std::vector<std::string> notes;
    auto c = actors::load_latest_checkpoint(opts.resume, &notes);
    for (const auto& n : notes)
      std::fprintf(stderr, "herd: %s\n", n.c_str());
    if (!c)
      return bad_input("", c.error());
    auto saved = config::parse_job(c->job_json);
    if (!saved)
      return bad_input(opts.resume, make_error(errc::config_invalid,
                                               "the checkpoint's job cannot be read: "
                                                 + describe(saved.error())));
    if (auto why = resume_mismatch(*saved, *job, opts.job_file); !why.empty())
      return bad_input(opts.resume, make_error(errc::config_invalid, why));
    // Stages cut the shards' slices along the layers: other stages, other slices.
    auto stages = saved->parallelism.pipeline_stages;
    if (stages != job->parallelism.pipeline_stages)
      return bad_input(opts.resume,
                       make_error(errc::config_invalid,
                                  "the checkpoint is of " + std::to_string(stages)
                                    + " pipeline stage(s), " + opts.job_file
                                    + ": /parallelism/pipeline_stages asks for "
                                    + std::to_string(job->parallelism.pipeline_stages)
                                    + " (the shards' slices differ)"));
    // Not yet "resuming": the supervisor may still refuse it (nothing left to train).
    std::fprintf(stderr, "herd: the newest whole checkpoint in %s is at clock %llu\n",
                 opts.resume.c_str(), (unsigned long long) c->clock);
    inputs->resume = std::make_shared<const actors::checkpoint>(std::move(*c));
  }
  if (topo) // node daemons may run elsewhere: the data paths they get are absolute
    for (auto* p : {&inputs->cfg.data.train_images, &inputs->cfg.data.train_labels,
                    &inputs->cfg.data.test_images, &inputs->cfg.data.test_labels})
      *p = std::filesystem::absolute(*p).lexically_normal().string();
  // Written aside until the job starts: a run failing before then changes nothing there.
  auto out_dir = config::output_dir(*job);
  // A write failing later (a full disk) is one line, ending any progress line, and exit 1.
  auto report = [&](const std::string& line) {
    std::lock_guard lock{steer_mutex};
    if (shown)
      shown->finish_line();
    std::fprintf(stderr, "herd: %s\n", line.c_str());
  };
  auto opened = metrics_file::open(out_dir, config::to_json(*job), report);
  if (!opened && code_of(opened.error()) == errc::invalid_argument)
    return bad_input("", opened.error()); // the output path cannot be a directory
  if (!opened) {
    std::fprintf(stderr, "herd: %s\n", describe(opened.error()).c_str());
    return exit_failed;
  }
  auto metrics = std::move(*opened);
  kernels::set_blas_threads(job->training.blas_threads);

  bool live = !opts.quiet && isatty(fileno(stdout));
  progress_printer printer{stdout, live, opts.quiet ? 0 : job->training.log_every};
  {
    std::lock_guard lock{steer_mutex};
    shown = &printer;
  }
  std::shared_ptr<void> unshow(nullptr, [&](void*) { // before the printer goes
    std::lock_guard lock{steer_mutex};
    shown = nullptr;
  });
  printer.log("herd run " + job->name + ": " + std::to_string(inputs->train->count)
              + " training and " + std::to_string(inputs->test->count)
              + " test samples; output in " + out_dir);
  actors::job_callbacks cb;
  cb.on_progress = [&](const actors::progress_info& p) { printer.progress(p); };
  cb.on_eval = [&](const actors::eval_point& e) {
    metrics->write_eval(e);
    if (!opts.quiet)
      printer.eval(e);
  };
  bool started = false; // on_start came: the outputs are committed
  cb.on_start = [&](const caf::actor& sup) {
    started = true;
    if (auto err = metrics->commit())
      report(describe(err));
    std::lock_guard lock{steer_mutex};
    supervisor = sup;
    if (stop_asked)
      send_stop(sup);
  };
  std::atomic<int> checkpoints_failed = 0;
  cb.on_log = [&](const std::string& line) {
    if (line.rfind("checkpoint failed: ", 0) == 0) { // on stderr, --quiet or not
      ++checkpoints_failed;
      printer.finish_line();
      std::fprintf(stderr, "herd: %s\n", line.c_str());
    } else if (!opts.quiet) {
      printer.log(line);
    }
  };

  auto began = std::chrono::steady_clock::now(); // summary.json's wall_s: the whole job
  actors::system_config cfg;
  if (topo)
    if (auto err = enable_cluster_network(cfg, *topo, "client"))
      return bad_input(opts.cluster, err);
  caf::actor_system sys{cfg};
  expected<actors::job_result> result{caf::error{}};
  if (topo) {
    std::vector<std::string> names;
    for (const auto& n : topo->nodes)
      names.push_back(n.name);
    if (!opts.quiet)
      printer.log("connecting to " + std::to_string(names.size()) + " node(s)");
    auto nodes = connect_nodes(sys, *topo, names);
    if (!nodes) {
      metrics.reset(); // the job never started: the pending outputs go
      std::fprintf(stderr, "herd: %s\n", describe(nodes.error()).c_str());
      std::_Exit(exit_failed);
    }
    // A lost node's daemon started again rejoins: dialled with a short deadline (ctl waits).
    auto redial = *topo;
    redial.connect_timeout_s = std::min(redial.connect_timeout_s, 2.0);
    cb.reconnect = [&sys, redial](const std::string& name) -> expected<caf::actor> {
      auto one = connect_nodes(sys, redial, {name});
      if (!one)
        return one.error();
      return one->at(name);
    };
    result = actors::run_job_on(sys, *inputs, std::move(*nodes), cb);
  } else {
    result = actors::run_job(sys, *inputs, cb);
  }
  {
    std::lock_guard lock{steer_mutex};
    job_over = true;
    supervisor = nullptr;
  }
  printer.finish_line();
  // Across nodes, CAF keeps actors that remote nodes may still name alive, and the actor
  // system's destructor would wait for them: once the outputs are written, the process ends.
  // So does a process where a worker's thread could not start (actors/thread_limits.hpp).
  auto leave = [&](int code) {
    metrics.reset();
    if (topo || actors::thread_start_failed()) {
      std::fflush(stdout);
      std::fflush(stderr);
      std::_Exit(code);
    }
    return code;
  };
  if (!result && !started && code_of(result.error()) == errc::config_invalid) {
    // Refused before it started (the checkpoint does not fit the job): bad input, untouched.
    metrics.reset();
    return leave(bad_input(opts.resume.empty() ? opts.job_file : opts.resume, result.error()));
  }
  if (!result) {
    std::fprintf(stderr, "herd: job failed: %s\n", describe(result.error()).c_str());
    return leave(exit_failed);
  }
  if (auto err = metrics->commit())
    report(describe(err));
  metrics->write_summary(
    *result, std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
  const auto& f = result->final_eval;
  std::printf("final test accuracy %.2f%% (loss %.4f) after %llu steps, %llu samples%s\n",
              100.0 * f.accuracy, shown_loss(f.loss), (unsigned long long) result->clock,
              (unsigned long long) result->samples,
              result->stopped ? " (stopped before the data was used up)" : "");
  std::printf("training time %.1fs, %.0f samples/s", result->wall_s, result->samples_per_s);
  if (result->time_to_target_s)
    std::printf(", %.1f%% test accuracy reached after %.1fs",
                100.0 * job->training.target_accuracy, *result->time_to_target_s);
  else if (job->training.target_accuracy > 0)
    std::printf(", %.1f%% test accuracy not reached", 100.0 * job->training.target_accuracy);
  std::printf("\n");
  if (result->steps > 0) {
    auto per_step = [&](uint64_t b) { return double(b) / double(result->steps) / 1024.0; };
    std::printf("wire per worker step: push %.1f KiB (fp32 %.1f KiB, %.1fx), pull %.1f KiB "
                "(fp32 %.1f KiB, %.1fx)\n",
                per_step(result->up_bytes), per_step(result->up_dense_bytes),
                result->up_bytes ? double(result->up_dense_bytes) / double(result->up_bytes) : 0.0,
                per_step(result->down_bytes), per_step(result->down_dense_bytes),
                result->down_bytes ? double(result->down_dense_bytes) / double(result->down_bytes)
                                   : 0.0);
    std::printf("gradient codec per worker step: encode %.1f us (workers), decode and validate "
                "%.1f us (shards)\n",
                result->encode_us_per_step(), result->decode_us_per_step());
  }
  std::printf("metrics in %s\n", metrics->path().c_str());
  int code = exit_ok;
  if (auto why = divergence_of(*result); !why.empty()) { // on stderr, --quiet or not
    std::fflush(stdout);
    std::fprintf(stderr, "herd: warning: training diverged (%s); exit status 1\n", why.c_str());
    code = exit_failed;
  }
  if (checkpoints_failed > 0) { // the results are whole; what resumes them is not
    std::fflush(stdout);
    std::fprintf(stderr, "herd: %d checkpoint(s) failed (see above); exit status 1\n",
                 checkpoints_failed.load());
    code = exit_failed;
  }
  if (metrics->failed()) // said when it happened: "<file>: cannot write (<reason>)"
    code = exit_failed;
  if (auto sig = interrupts.signal()) // stopped early: say so to scripts and shells
    code = 128 + sig;
  return leave(code);
}

} // namespace herd::apps
