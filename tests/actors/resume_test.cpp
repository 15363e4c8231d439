// Resuming a job (herd run --resume): from the checkpoint taken at the end of training when the
// job file now has more epochs, the rule in force named at the start, rates that count from the
// resume, workers that held between two chunks.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <caf/actor_system.hpp>

#include "actors/checkpoint_store.hpp"
#include "actors/job.hpp"
#include "actors/system_config.hpp"
#include "messages/checkpoint_codec.hpp"
#include "tests/actors/small_job.hpp"
#include "tests/temp_dir.hpp"

using namespace herd;

namespace {

actors::job_inputs job(const std::string& ckpt_dir, int epochs) {
  auto in = test::small_job(); // 256 samples, batch 8, 2 workers
  in.cfg.training.epochs = epochs;
  in.cfg.training.chunk_batches = 3;
  in.cfg.checkpoint.every = 10;
  in.cfg.checkpoint.keep = 10;
  in.cfg.checkpoint.dir = ckpt_dir;
  return in;
}

using outcome = test::logged_run;

outcome run(const actors::job_inputs& in) {
  return test::run_logged(in);
}

} // namespace

TEST_CASE("resume: the checkpoint at the end of training continues when the job has more "
          "epochs",
          "[actors][integration]") {
  test::temp_dir dir;
  auto first = run(job(dir.file("ck"), 2));
  REQUIRE(first.result);
  CHECK(first.result->samples == 2 * 256);
  auto c = actors::load_latest_checkpoint(dir.file("ck"));
  REQUIRE(c);
  REQUIRE(c->workers.empty()); // taken after every worker ended
  CHECK(c->samples == 2 * 256);
  // The rule in force when it was taken (as after a switch), not the job file's.
  auto taken = *c;
  taken.rule = {"ssp", 3, false};
  auto more = job(dir.file("more"), 4);
  more.resume = std::make_shared<const actors::checkpoint>(taken);
  auto r = run(more);
  INFO(r.log);
  REQUIRE(r.result);
  CHECK(r.result->samples == 4 * 256); // the two new epochs, each sample once
  CHECK(r.result->steps == 4 * 256 / 8);
  CHECK(r.result->clock > c->clock); // the clock goes on, never back
  CHECK(r.log.find("holds no worker (taken after training ended, or while every worker was "
                   "down); the job has more to train") != std::string::npos);
  CHECK(r.log.find("consistency: ssp(3) from clock") != std::string::npos);
  CHECK(r.log.find("parameters, ssp(3)") != std::string::npos);
  CHECK(r.log.find("parameters, bsp") == std::string::npos);
  // The same epochs as when it was taken: nothing to resume, still refused.
  auto same = job(dir.file("same"), 2);
  same.resume = std::make_shared<const actors::checkpoint>(*c);
  auto refused = run(same);
  REQUIRE_FALSE(refused.result);
  CHECK_THAT(describe(refused.result.error()), Catch::Contains("nothing to resume"));
  CHECK(code_of(refused.result.error()) == errc::config_invalid); // bad input: herd exits 2
  CHECK(refused.log.find("resuming from the checkpoint") == std::string::npos); // before evals
}

TEST_CASE("resume: samples/s count the samples trained since the resume", "[actors][integration]") {
  test::temp_dir dir;
  REQUIRE(run(job(dir.file("ck"), 2)).result);
  auto c = actors::load_latest_checkpoint(dir.file("ck"), nullptr);
  REQUIRE(c);
  // The checkpoint at clock 20 (of about 32): most samples were trained before it.
  auto mid = dir.file("mid");
  std::filesystem::create_directories(mid);
  std::filesystem::copy(dir.file("ck") + "/ckpt-000000000020", mid + "/ckpt-000000000020");
  auto at = actors::load_latest_checkpoint(mid);
  REQUIRE(at);
  REQUIRE(at->clock == 20);
  REQUIRE(at->samples > 0);
  auto in = job(dir.file("resumed"), 2);
  in.resume = std::make_shared<const actors::checkpoint>(*at);
  auto r = run(in);
  REQUIRE(r.result);
  CHECK(r.result->samples == 2 * 256);
  auto since = double(r.result->samples - at->samples);
  REQUIRE(r.result->wall_s > 0);
  CHECK(r.result->samples_per_s == Approx(since / r.result->wall_s));
  CHECK(r.result->steps_per_s
        == Approx(double(r.result->steps - at->steps) / r.result->wall_s));
  REQUIRE(r.last.elapsed_s > 0);
  CHECK(r.last.samples_per_s
        == Approx(double(r.last.samples - at->samples) / r.last.elapsed_s));
}

TEST_CASE("resume: workers that held between two chunks finish normally and every sample is "
          "trained once",
          "[actors][integration]") {
  test::temp_dir dir;
  auto first = job(dir.file("ck"), 4);
  first.cfg.training.chunk_batches = 2; // every checkpoint (10 clocks) falls between two chunks
  REQUIRE(run(first).result);
  auto mid = dir.file("mid");
  std::filesystem::create_directories(mid);
  std::filesystem::copy(dir.file("ck") + "/ckpt-000000000020", mid + "/ckpt-000000000020");
  auto at = actors::load_latest_checkpoint(mid);
  REQUIRE(at);
  REQUIRE(at->workers.size() == 2);
  for (const auto& w : at->workers)
    REQUIRE_FALSE(w.has_chunk); // its chunk used up, not yet reported done
  auto in = job(dir.file("resumed"), 4);
  in.cfg.training.chunk_batches = 2;
  in.resume = std::make_shared<const actors::checkpoint>(*at);
  auto r = run(in);
  INFO(r.log);
  REQUIRE(r.result);
  CHECK(r.result->samples == 4 * 256); // the used-up chunks were handed out again
  CHECK(r.result->steps == 4 * 256 / 8);
  // Neither worker was removed: both finish (they were "left", handing back a used-up chunk).
  CHECK(r.log.find(" left at clock") == std::string::npos);
  CHECK(r.log.find("worker 0 finished at clock") != std::string::npos);
  CHECK(r.log.find("worker 1 finished at clock") != std::string::npos);
  // A resumed job's time counts from the resume: its first evaluation (the restored
  // parameters) is at 0 s.
  REQUIRE_FALSE(r.result->evals.empty());
  CHECK(r.result->evals.front().train_s == 0.0);
}

TEST_CASE("resume: a job resumed under ASP from a BSP job file evaluates its clocks, none skipped",
          "[actors][integration]") {
  test::temp_dir dir;
  auto first = job(dir.file("ck"), 2);
  first.cfg.consistency.model = config::consistency_model::asp; // versions run past clocks
  REQUIRE(run(first).result);
  auto c = actors::load_latest_checkpoint(dir.file("ck"));
  REQUIRE(c);
  REQUIRE(c->rule.model == "asp");
  CHECK(*messages::shard_snapshot_version(c->shards[0]) > c->clock); // a push, a version
  auto bsp = job(dir.file("bsp"), 2);
  REQUIRE(run(bsp).result);
  auto b = actors::load_latest_checkpoint(dir.file("bsp"));
  REQUIRE(b);
  for (const auto& bytes : b->shards) // BSP throughout: versions are clocks (exact evaluations)
    CHECK(*messages::shard_snapshot_version(bytes) == b->clock);
  auto more = job(dir.file("more"), 6); // the file says BSP; the checkpoint's ASP is in force
  more.cfg.training.eval_every = 4;
  more.resume = std::make_shared<const actors::checkpoint>(*c);
  auto evals = 0;
  actors::system_config scfg;
  caf::actor_system sys{scfg};
  std::string log;
  actors::job_callbacks cb;
  cb.on_log = [&](const std::string& line) { log += line + "\n"; };
  cb.on_eval = [&](const actors::eval_point&) { ++evals; };
  auto r = actors::run_job(sys, more, cb);
  INFO(log);
  REQUIRE(r);
  CHECK(log.find("skipped") == std::string::npos); // it asked exact clocks ASP never keeps
  CHECK(evals >= 3); // the resume's own, some while training, the final one
}

TEST_CASE("resume: a checkpoint of more training samples than the job keeps is refused before "
          "it starts",
          "[actors][integration]") {
  test::temp_dir dir;
  REQUIRE(run(job(dir.file("ck"), 2)).result);
  auto mid = dir.file("mid");
  std::filesystem::create_directories(mid);
  std::filesystem::copy(dir.file("ck") + "/ckpt-000000000020", mid + "/ckpt-000000000020");
  auto at = actors::load_latest_checkpoint(mid);
  REQUIRE(at);
  REQUIRE_FALSE(at->workers.empty());
  // The same file under a lower train_limit: the checkpoint's chunks hold indices past it.
  auto in = job(dir.file("fewer"), 2);
  auto fewer = *in.train;
  fewer.file_count = fewer.count;
  fewer.count = 100;
  fewer.x.resize(fewer.count * fewer.features);
  fewer.y.resize(fewer.count);
  in.train = std::make_shared<const data::dataset>(fewer);
  in.resume = std::make_shared<const actors::checkpoint>(*at);
  auto r = run(in);
  REQUIRE_FALSE(r.result);
  CHECK(code_of(r.result.error()) == errc::config_invalid); // bad input: herd exits 2
  CHECK_THAT(describe(r.result.error()),
             Catch::Contains("a training set of 256 samples, the job has 100"));
  CHECK(r.log.find("resuming from the checkpoint") == std::string::npos); // before evals
}
