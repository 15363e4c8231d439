#include "apps/experiment_runner.hpp"

#include <chrono>
#include <memory>

#include <caf/actor_system.hpp>

#include "actors/system_config.hpp"
#include "actors/thread_limits.hpp"
#include "apps/divergence.hpp"

namespace herd::apps {

size_t setting_index(const experiment_config& exp, const run_spec& r) {
  return (r.consistency * exp.compression.size() + r.compression) * exp.stragglers.size()
         + r.straggler;
}

expected<std::vector<run_spec>> plan_runs(const experiment_config& exp) {
  std::vector<run_spec> out;
  bool named = shows_compression(exp);
  for (size_t c = 0; c < exp.consistency.size(); ++c) {
    for (size_t k = 0; k < exp.compression.size(); ++k) {
      for (size_t s = 0; s < exp.stragglers.size(); ++s) {
        for (auto seed : exp.seeds) {
          const auto& setting = exp.consistency[c];
          const auto& compression = exp.compression[k];
          const auto& scenario = exp.stragglers[s];
          auto job = job_for_run(exp, setting, compression, scenario, seed);
          if (!job)
            return std::move(job.error());
          run_spec r;
          r.consistency = c;
          r.compression = k;
          r.straggler = s;
          r.seed = seed;
          r.setting = setting.label() + " " + (named ? compression.name + " " : "") + scenario.name;
          r.slug = run_slug(exp, setting, compression, scenario, seed);
          r.job = std::move(*job);
          out.push_back(std::move(r));
        }
      }
    }
  }
  return out;
}

std::vector<run_record> run_experiment(const std::vector<run_spec>& runs,
                                       const actors::job_inputs& data, const run_hooks& hooks) {
  std::vector<run_record> out;
  out.reserve(runs.size());
  for (size_t i = 0; i < runs.size(); ++i) {
    if (hooks.keep_going && !hooks.keep_going())
      break;
    const auto& spec = runs[i];
    if (hooks.on_start)
      hooks.on_start(spec, i, runs.size());
    actors::job_inputs in{spec.job, data.train, data.test, data.codecs};
    actors::job_callbacks cb;
    cb.on_progress = hooks.on_progress;
    run_record rec{spec, std::nullopt, {}, 0};
    auto start = std::chrono::steady_clock::now();
    {
      // A fresh system per run: no actor, mailbox or scheduler state carries over.
      actors::system_config cfg;
      auto owned = std::make_unique<caf::actor_system>(cfg);
      auto& sys = *owned;
      auto result = actors::run_job(sys, in, cb);
      if (result) {
        result->params.clear(); // the reports need the metrics, not the weights
        result->params.shrink_to_fit();
        if (auto why = divergence_of(*result); !why.empty())
          rec.error = "diverged: " + why;
        rec.result = std::move(*result);
      } else {
        rec.error = describe(result.error());
      }
      // A worker's thread did not start: the system's destructor would wait for it for ever
      // (actors/thread_limits.hpp). It is left standing, and no further run is started.
      if (actors::thread_start_failed())
        owned.release();
    }
    rec.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (hooks.on_done)
      hooks.on_done(rec, i, runs.size());
    out.push_back(std::move(rec));
    if (actors::thread_start_failed())
      break;
  }
  return out;
}

} // namespace herd::apps
