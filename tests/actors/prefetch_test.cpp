// Prefetched pulls (training.prefetch): a worker asks for the next step's parameters before it
// computes this step. Under BSP the shard still answers after the round, so the job trains
// exactly as without prefetch; under ASP the answer can miss the worker's own last gradient,
// which shows as staleness 1 on every update of a lone worker (0 without prefetch: its pull
// then follows its push, and messages between two actors arrive in order).
#include <catch2/catch.hpp>

#include <utility>

#include "actors/job.hpp"
#include "tests/actors/small_job.hpp"

using namespace herd;

namespace {

actors::job_inputs job(int workers, config::consistency_model model, bool prefetch) {
  auto in = test::small_job();
  in.cfg.workers.assign(size_t(workers), config::worker_config{"local", "cpu", {}});
  in.cfg.optimizer.type = config::optimizer_kind::adam;
  in.cfg.optimizer.lr = 0.01;
  in.cfg.training.chunk_batches = 2;
  in.cfg.training.max_steps = 16;
  in.cfg.training.prefetch = prefetch;
  in.cfg.consistency.model = model;
  return in;
}

/// The same job with prefetch (first) and without (second).
std::pair<actors::job_result, actors::job_result> both_ways(int workers,
                                                            config::consistency_model model,
                                                            bool payloads) {
  auto with = job(workers, model, true);
  with.transfer.payloads_in_process = payloads; // false: local handover
  auto without = with;
  without.cfg.training.prefetch = false;
  return {test::run_to_end(with), test::run_to_end(without)};
}

} // namespace

TEST_CASE("prefetch: BSP trains bit for bit as without it", "[actors][integration]") {
  bool payloads = GENERATE(false, true); // local handover, and payloads as across processes
  auto [a, b] = both_ways(2, config::consistency_model::bsp, payloads);
  CHECK(a.clock == 16);
  CHECK(b.clock == 16);
  REQUIRE(a.params.size() == b.params.size());
  CHECK(a.params == b.params);
  CHECK(a.staleness_max == 0);
  for (const auto& s : a.shards) {
    CHECK(s.pushes == 2 * 16);
    CHECK(s.refused == 0);
    CHECK(s.waiting_pulls == 0);
  }
}

TEST_CASE("prefetch: a lone ASP worker reads before its own last push lands",
          "[actors][integration]") {
  bool payloads = GENERATE(false, true);
  auto [a, b] = both_ways(1, config::consistency_model::asp, payloads);
  CHECK(a.steps == 16);
  CHECK(b.steps == 16);
  // Step 0 reads version 0 and lands on it; every later step read before the previous push.
  CHECK(a.staleness_p50 == 1);
  CHECK(a.staleness_max == 1);
  CHECK(b.staleness_max == 0);
  // Pulls counted once per step whether or not they were prefetched.
  CHECK(a.down_dense_bytes == b.down_dense_bytes);
}
