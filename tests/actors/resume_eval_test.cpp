// Evaluations while a job resumed from its end-of-training checkpoint trains its new epochs. The
// job file's workers join two clocks past the checkpoint, so under BSP the shards' versions
// stay two behind the clocks; the evaluations of the new epochs, asked by clock, used to be
// skipped ("no longer holds that clock's parameters") and only the resume's own and the final
// one were recorded.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <string>

#include <caf/actor_system.hpp>

#include "actors/checkpoint_store.hpp"
#include "actors/job.hpp"
#include "actors/system_config.hpp"
#include "tests/actors/small_job.hpp"
#include "tests/temp_dir.hpp"

using namespace herd;

namespace {

// 256 samples at batch 8: 32 clocks an epoch for one worker, 16 for two.
actors::job_inputs job(const std::string& ckpt_dir, int epochs, size_t workers) {
  auto in = test::small_job();
  in.cfg.workers.resize(workers, in.cfg.workers.front());
  in.cfg.training.epochs = epochs;
  in.cfg.training.chunk_batches = 3;
  in.cfg.training.eval_every = 10;
  in.cfg.checkpoint.every = 10;
  in.cfg.checkpoint.keep = 20;
  in.cfg.checkpoint.dir = ckpt_dir;
  return in;
}

using outcome = test::logged_run;

outcome run(const actors::job_inputs& in) {
  return test::run_logged(in);
}

// The evaluations each checkpoint under `dir` recorded (of exactly its parameters), by clock.
std::map<uint64_t, std::pair<double, double>> recorded(const test::temp_dir& tmp,
                                                       const std::string& dir) {
  std::map<uint64_t, std::pair<double, double>> out;
  for (const auto& [clock, path] : actors::checkpoints_in(dir)) {
    auto one = tmp.file("one-" + std::to_string(clock));
    std::filesystem::create_directories(one);
    std::filesystem::copy(path, one + "/" + std::filesystem::path(path).filename().string());
    auto c = actors::load_latest_checkpoint(one);
    REQUIRE(c);
    out[clock] = {c->loss, c->accuracy};
  }
  return out;
}

using evals_by_clock = std::map<uint64_t, std::pair<double, double>>;

evals_by_clock by_clock(const actors::job_result& r) {
  evals_by_clock out;
  for (const auto& e : r.evals)
    out[e.clock] = {e.loss, e.accuracy};
  return out;
}

// Trains 2 epochs to the end, resumes that checkpoint with 4 (checkpoints in dir/more), and
// checks the new epochs' evaluations: every multiple of eval_every is evaluated, none skipped,
// each of exactly its clock (it scores what the checkpoint of that clock recorded).
evals_by_clock check_new_epochs_evaluated(const test::temp_dir& dir,
                                          config::consistency_model model, size_t workers) {
  auto first = job(dir.file("ck"), 2, workers);
  first.cfg.consistency.model = model;
  REQUIRE(run(first).result);
  auto c = actors::load_latest_checkpoint(dir.file("ck"));
  REQUIRE(c);
  REQUIRE(c->workers.empty()); // taken at the end of training
  auto more = job(dir.file("more"), 4, workers);
  more.cfg.consistency.model = model;
  more.resume = std::make_shared<const actors::checkpoint>(*c);
  auto r = run(more);
  INFO(r.log);
  REQUIRE(r.result);
  CHECK(r.result->samples == 4 * 256);
  CHECK(r.log.find("skipped") == std::string::npos);
  auto evals = by_clock(*r.result);
  auto taken = recorded(dir, dir.file("more"));
  // The multiples of 10 the new epochs passed before their end (at the end: the final one).
  size_t compared = 0;
  for (uint64_t clock = (c->clock / 10 + 1) * 10; clock < r.result->clock; clock += 10) {
    INFO("clock " << clock << " (the checkpoint's: " << c->clock << ")");
    auto e = evals.find(clock);
    REQUIRE(e != evals.end());
    auto t = taken.find(clock);
    REQUIRE(t != taken.end());
    CHECK(e->second.first == Approx(t->second.first).epsilon(1e-9));
    CHECK(e->second.second == Approx(t->second.second).epsilon(1e-9));
    ++compared;
  }
  CHECK(compared >= 3);
  return evals;
}

} // namespace

TEST_CASE("resume_eval: a BSP job resumed from its end with more epochs evaluates each "
          "eval_every clock of them",
          "[actors][integration]") {
  test::temp_dir dir;
  auto evals = check_new_epochs_evaluated(dir, config::consistency_model::bsp, 1);
  // Resumed again mid-training, from a checkpoint of those epochs (its shards' versions two
  // behind its clock): one worker trains the same steps, so each evaluation is the first
  // resume's at that clock, bit for bit.
  auto mid = dir.file("mid");
  std::filesystem::create_directories(mid);
  std::filesystem::copy(dir.file("more") + "/ckpt-000000000090", mid + "/ckpt-000000000090");
  auto at = actors::load_latest_checkpoint(mid);
  REQUIRE(at);
  REQUIRE(at->clock == 90);
  REQUIRE_FALSE(at->workers.empty());
  auto again = job(dir.file("again"), 4, 1);
  again.resume = std::make_shared<const actors::checkpoint>(*at);
  auto r = run(again);
  INFO(r.log);
  REQUIRE(r.result);
  CHECK(r.log.find("skipped") == std::string::npos);
  auto later = by_clock(*r.result);
  for (uint64_t clock = 100; clock < r.result->clock; clock += 10) {
    INFO("clock " << clock);
    REQUIRE(later.count(clock) == 1);
    REQUIRE(evals.count(clock) == 1);
    CHECK(later[clock] == evals[clock]);
  }
}

TEST_CASE("resume_eval: with two workers, each eval_every clock of the new epochs is "
          "evaluated",
          "[actors][integration]") {
  test::temp_dir dir;
  check_new_epochs_evaluated(dir, config::consistency_model::bsp, 2);
}

TEST_CASE("resume_eval: under SSP(0) each eval_every clock of the new epochs is evaluated",
          "[actors][integration]") {
  test::temp_dir dir;
  check_new_epochs_evaluated(dir, config::consistency_model::ssp, 1); // staleness 0
}
