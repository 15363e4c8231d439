// The keys behind consistency experiments: switches, staleness awareness, stragglers,
// deferred evaluation and the learning-rate schedule.
#include <catch2/catch.hpp>

#include "config_test_util.hpp"

using namespace herd::config;
using namespace herd::config::test;

TEST_CASE("config: consistency switches are read in order with their rules", "[config]") {
  auto job = parsed(job_with(R"("consistency": {"model": "bsp", "staleness_aware": true,
      "switches": [{"at_clock": 10, "model": "ssp", "staleness": 2},
                   {"at_clock": 20, "model": "asp"}]})"));
  REQUIRE(job.consistency.switches.size() == 2);
  CHECK(job.consistency.staleness_aware);
  CHECK(job.consistency.switches[0]
        == consistency_switch{10, consistency_model::ssp, 2});
  CHECK(job.consistency.switches[1].model == consistency_model::asp);
  CHECK(parsed(to_json(job)) == job);
}

TEST_CASE("config: switches must move forward in clock", "[config]") {
  CHECK(error_of(job_with(R"("consistency": {"switches": [{"at_clock": 5, "model": "asp"},
      {"at_clock": 5, "model": "bsp"}]})"))
        == "/consistency/switches/1/at_clock: expected a clock after the previous switch's (5), "
           "got 5");
  CHECK(error_of(job_with(R"("consistency": {"switches": [{"at_clock": 0}]})"))
        == "/consistency/switches/0/at_clock: expected a positive integer, got 0");
  CHECK(error_of(job_with(R"("consistency": {"switches": {"at_clock": 3}})"))
        == R"(/consistency/switches: expected an array of {"at_clock", "model", "staleness"} )"
           R"(objects, got {"at_clock":3})");
  CHECK(error_of(job_with(R"("consistency": {"switches": [{"at_clock": 3, "when": 1}]})"))
          .rfind("/consistency/switches/0/when: unknown key", 0)
        == 0);
}

TEST_CASE("config: a worker's straggler has a factor in 1..100 and a probability above 0 and at most 1",
          "[config]") {
  auto job = parsed(job_with(R"("workers": [{"straggler": {"factor": 3}},
      {"straggler": {"factor": 2.5, "probability": 0.1}}, {}])"));
  CHECK(job.workers[0].straggler == straggler_config{3.0, 1.0});
  CHECK(job.workers[1].straggler == straggler_config{2.5, 0.1});
  CHECK(job.workers[2].straggler == straggler_config{});
  CHECK(error_of(job_with(R"("workers": [{"straggler": {"factor": 0.5}}])"))
        == "/workers/0/straggler/factor: expected a number in [1, 100], got 0.5");
  CHECK(error_of(job_with(R"("workers": [{"straggler": {"factor": 1e12}}])"))
        == "/workers/0/straggler/factor: expected a number in [1, 100], got 1000000000000.0");
  CHECK(error_of(job_with(R"("workers": [{"straggler": {"probability": 0}}])"))
        == "/workers/0/straggler/probability: expected a number in (0, 1], got 0");
}

TEST_CASE("config: evaluation is live or deferred, schedule is constant or cosine", "[config]") {
  CHECK(parsed(job_with(R"("training": {"evaluation": "deferred"})")).training.evaluation
        == eval_mode::deferred);
  CHECK(parsed(job_with("")).training.evaluation == eval_mode::live);
  CHECK(error_of(job_with(R"("training": {"evaluation": "later"})"))
        == R"(/training/evaluation: expected "live" or "deferred", got "later")");
  CHECK(parsed(job_with(R"("optimizer": {"schedule": "cosine"})")).optimizer.schedule
        == lr_schedule::cosine);
  CHECK(error_of(job_with(R"("optimizer": {"schedule": "step"})"))
        == R"(/optimizer/schedule: expected "constant" or "cosine", got "step")");
}

TEST_CASE("config: ssp without a staleness gets the default bound, in the job and in switches",
          "[config]") {
  auto job = parsed(job_with(R"("consistency": {"model": "ssp",
      "switches": [{"at_clock": 80, "model": "ssp"}, {"at_clock": 90, "model": "asp"}]})"));
  CHECK(default_ssp_staleness == 3); // what `herd ctl set-consistency ssp` sends too
  CHECK(job.consistency.staleness == default_ssp_staleness);
  CHECK(job.consistency.switches[0].staleness == default_ssp_staleness);
  CHECK(job.consistency.switches[1].staleness == 0);
  CHECK(parsed(to_json(job)) == job);
  auto zero = parsed(job_with(R"("consistency": {"model": "ssp", "staleness": 0})"));
  CHECK(zero.consistency.staleness == 0); // given: kept
}

TEST_CASE("config: a staleness is refused for bsp and asp, naming the JSON path", "[config]") {
  CHECK(error_of(job_with(R"("consistency": {"model": "asp", "staleness": 2})"))
        == "/consistency/staleness: expected no staleness for asp (only ssp has a bound), got 2");
  CHECK(error_of(job_with(R"("consistency": {"staleness": 1})"))
        == "/consistency/staleness: expected no staleness for bsp (only ssp has a bound), got 1");
  CHECK(error_of(job_with(R"("consistency": {"model": "ssp", "staleness": 1,
      "switches": [{"at_clock": 5, "model": "asp", "staleness": 2}]})"))
        == "/consistency/switches/0/staleness: expected no staleness for asp (only ssp has a "
           "bound), got 2");
  // 0, as job.json writes it for every model, is accepted: a written job reads back.
  auto job = parsed(job_with(R"("consistency": {"model": "asp", "staleness": 0})"));
  CHECK(job.consistency.staleness == 0);
}
