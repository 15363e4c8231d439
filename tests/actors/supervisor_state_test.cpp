#include <catch2/catch.hpp>

#include <set>

#include "actors/supervisor_state.hpp"
#include "apps/divergence.hpp"

using namespace herd;

namespace {

config::job_config job(int eval_every) {
  config::job_config cfg;
  cfg.model.layers = {4, 2};
  cfg.training.batch_size = 10;
  cfg.training.chunk_batches = 2;
  cfg.training.epochs = 1;
  cfg.training.eval_every = eval_every;
  return cfg;
}

} // namespace

TEST_CASE("supervisor_state: chunks cover the epoch once and then run out", "[actors]") {
  auto cfg = job(0);
  actors::supervisor_state st{cfg, 95};
  st.add_worker(0);
  st.add_worker(1);
  std::set<uint32_t> seen;
  uint64_t last[2] = {0, 0};
  for (int round = 0; round < 10; ++round) {
    for (uint32_t w = 0; w < 2; ++w) {
      auto c = st.next_chunk(w, last[w]);
      last[w] = c.id;
      for (auto i : c.indices)
        CHECK(seen.insert(i).second);
    }
  }
  CHECK(seen.size() == 95);
  CHECK(st.next_chunk(0, last[0]).indices.empty());
}

TEST_CASE("supervisor_state: a lost worker's chunk goes to the next asker", "[actors]") {
  auto cfg = job(0);
  actors::supervisor_state st{cfg, 100};
  st.add_worker(0);
  st.add_worker(1);
  auto lost = st.next_chunk(0, 0);
  CHECK(st.worker_lost(0) == 1);
  CHECK(st.active_workers() == 1);
  auto again = st.next_chunk(1, 0);
  CHECK(again.id == lost.id);
  CHECK(again.indices == lost.indices);
}

TEST_CASE("supervisor_state: evaluations follow the slowest worker's clock", "[actors]") {
  auto cfg = job(5);
  actors::supervisor_state st{cfg, 1000};
  st.add_worker(0);
  st.add_worker(1);
  for (uint64_t c = 1; c <= 7; ++c)
    st.on_report({0, c, 10, 1.0f});
  CHECK_FALSE(st.eval_due()); // worker 1 still at 0
  for (uint64_t c = 1; c <= 5; ++c)
    st.on_report({1, c, 10, 1.0f});
  CHECK(st.min_clock() == 5);
  REQUIRE(st.eval_due());
  CHECK_FALSE(st.eval_due()); // one in flight
  auto e = st.eval_done({5, 120, 1.5, 0.5, 0.9, 0.01});
  CHECK(e.accuracy == 0.9);
  CHECK_FALSE(st.eval_due()); // next one at clock 10
  auto r = st.result();
  REQUIRE(r.time_to_target_s);
  CHECK(*r.time_to_target_s == 1.5);
  CHECK(r.samples == 120);
  // The final evaluation at clock 5 on the same parameters is the same point, recorded once;
  // another result at that clock (other parameters, as under ASP) is a point of its own.
  bool repeated = false;
  e = st.eval_done({5, 120, 1.7, 0.5, 0.9, 0.02}, &repeated);
  CHECK(repeated);
  CHECK(e.train_s == 1.5);
  CHECK(st.result().evals.size() == 1);
  e = st.eval_done({5, 120, 1.8, 0.4, 0.91, 0.02}, &repeated);
  CHECK_FALSE(repeated);
  CHECK(st.result().evals.size() == 2);
  CHECK(st.result().final_eval.accuracy == 0.91);
}

TEST_CASE("supervisor_state: step reports' bytes and encode times add up in the result",
          "[actors]") {
  auto cfg = job(0);
  actors::supervisor_state st{cfg, 1000};
  st.add_worker(0);
  st.add_worker(1);
  for (uint32_t w = 0; w < 2; ++w)
    for (uint64_t c = 1; c <= 3; ++c) {
      messages::step_report r{w, c, 10, 1.0f};
      r.up_bytes = 100 + w;
      r.up_dense_bytes = 400;
      r.encode_ns = 2000 + 1000 * w;
      st.on_report(r);
    }
  auto r = st.result();
  CHECK(r.steps == 6);
  CHECK(r.up_bytes == 3 * 100 + 3 * 101);
  CHECK(r.up_dense_bytes == 6 * 400);
  CHECK(r.encode_ns == 3 * 2000 + 3 * 3000);
  CHECK(r.encode_us_per_step() == Approx(2.5));
  CHECK(r.decode_ns == 0); // the shards' part comes with their stats at the end of the job
}

TEST_CASE("supervisor_state: pipeline stages report idle fractions, stage 0 the samples and loss",
          "[actors]") {
  auto cfg = job(0);
  cfg.model.layers = {4, 3, 2};
  cfg.parallelism.pipeline_stages = 2;
  cfg.workers.resize(2);
  actors::supervisor_state st{cfg, 1000};
  st.add_worker(0); // replica 0 stage 0
  st.add_worker(1); // replica 0 stage 1
  // A pipeline replica takes one minibatch per chunk (chunk_batches is 2 here).
  CHECK(st.next_chunk(0, 0).indices.size() == 10);
  double idle0[] = {0.9, 0.2, 0.4}; // the first minibatch (warm-up) is left out
  for (uint64_t c = 1; c <= 3; ++c) {
    messages::step_report head{0, c, 10, 2.0f};
    head.stage_idle = idle0[c - 1];
    st.on_report(head);
    messages::step_report tail{1, c, 0, 0.0f}; // no samples, no loss
    tail.stage_idle = 0.1;
    auto p = st.on_report(tail);
    CHECK(p.loss == Approx(2.0)); // not pulled towards 0 by the tail's reports
  }
  auto r = st.result();
  CHECK(r.samples == 30);
  REQUIRE(r.stage_idle.size() == 2);
  CHECK(r.stage_idle.at(0) == Approx(0.3));
  CHECK(r.stage_idle.at(1) == Approx(0.1));
  for (const auto& w : st.workers())
    CHECK(w.stage_idle >= 0);
}

TEST_CASE("supervisor_state: a worker's samples/s stays true when reports arrive back to back",
          "[actors]") {
  auto cfg = job(0);
  actors::supervisor_state st{cfg, 1000};
  st.add_worker(0);
  st.add_worker(1);
  auto report = [&](uint32_t w, uint64_t clock, double at) {
    messages::step_report r;
    r.worker = w;
    r.clock = clock;
    r.samples = 128;
    st.on_report(r, at);
  };
  // Worker 0: 100 steps/s for 3 s, but its reports come in bursts of 10 a microsecond apart
  // every 0.1 s (as after waits for a round). Worker 1: steady 50 steps/s.
  uint64_t c0 = 0, c1 = 0;
  for (int tick = 1; tick <= 30; ++tick) {
    double t = 0.1 * tick;
    for (int i = 0; i < 10; ++i)
      report(0, ++c0, t + 1e-6 * i);
    for (int i = 0; i < 5; ++i)
      report(1, ++c1, t + 0.02 * i);
    for (const auto& w : st.workers()) {
      INFO("t " << t << " worker " << w.id << " " << w.samples_per_s);
      // Nothing before half a second of reports; never more than the true rate allows.
      CHECK(w.samples_per_s <= (w.id == 0 ? 12800 : 6400) * 1.25);
      if (t >= 1.0)
        CHECK(w.samples_per_s >= (w.id == 0 ? 12800 : 6400) * 0.8);
    }
  }
  // A pause then a burst: the burst counts over the pause, not over its microseconds.
  for (int i = 0; i < 20; ++i)
    report(0, ++c0, 6.0 + 1e-6 * i);
  CHECK(st.workers()[0].samples_per_s < 12800);
}

TEST_CASE("step_rate: samples over the last seconds of arrivals", "[actors]") {
  actors::step_rate r;
  CHECK(r.per_s() == 0);
  r.add(1.0, 100);
  r.add(1.000001, 100); // back to back: not yet half a second of reports
  CHECK(r.per_s() == 0);
  for (int i = 1; i <= 100; ++i)
    r.add(1.0 + 0.1 * i, 100); // 1000 samples/s
  CHECK(r.per_s() == Approx(1000).epsilon(0.05));
  r.add(21.0, 100); // 10 s without a report: the last 100 samples over those 10 s
  CHECK(r.per_s() == Approx(10).epsilon(0.01));
}

TEST_CASE("supervisor_state: a lost worker's reported samples are done, only the rest comes "
          "back; a resumed worker's used-up chunk is done",
          "[actors]") {
  auto cfg = job(0); // chunks of 20 samples
  actors::supervisor_state st{cfg, 95};
  st.add_worker(0);
  st.add_worker(1);
  auto a = st.next_chunk(0, 0);
  REQUIRE(a.indices.size() == 20);
  messages::step_report r;
  r.worker = 0;
  r.samples = 10;
  r.clock = 1;
  st.on_report(r); // one step of 10 reported
  CHECK(st.worker_lost(0) == 1);
  CHECK(st.samples_done() == 10);
  auto rest = st.next_chunk(1, 0);
  CHECK(rest.id == a.id);
  CHECK(rest.indices == std::vector<uint32_t>(a.indices.begin() + 10, a.indices.end()));
  // A checkpoint taken with worker 1 holding after its chunk's last step (not yet reported
  // done) and resumed: the chunk is done, nothing of it is handed out again.
  auto pos = st.data_position();
  actors::supervisor_state resumed{cfg, 95};
  resumed.restore(1, pos, 20, 2, 0);
  resumed.resume_worker(1, 1, UINT64_MAX, 0);
  CHECK(resumed.samples_done() == 20);
  CHECK(resumed.worker_lost(1) == 0);
  CHECK(resumed.next_chunk(1, 0).id != rest.id);
}

// Only stage 0 reports a skipped minibatch; every stage reports the minibatch. Counting each
// stage's report as a step made `skipped * 2 > steps` unreachable at K > 1: a pipeline job
// whose every minibatch overflowed finished as if it had trained.
TEST_CASE("supervisor_state: a pipeline replica's minibatch is one step, skipped or not",
          "[actors]") {
  auto cfg = job(0);
  cfg.parallelism.pipeline_stages = 2;
  actors::supervisor_state st{cfg, 1000};
  for (uint32_t w = 0; w < 4; ++w) // replicas 0 and 1, stages 0 and 1
    st.add_worker(w);
  for (uint64_t c = 1; c <= 3; ++c)
    for (uint32_t w = 0; w < 4; ++w) {
      messages::step_report r{w, c, w % 2 == 0 ? 10u : 0u, 1.0f};
      r.skipped = w % 2 == 0 && c > 1;
      st.on_report(r);
    }
  auto r = st.result();
  CHECK(r.steps == 6); // 3 minibatches of each of 2 replicas
  CHECK(r.steps_skipped == 4);
  CHECK(r.samples == 60);
  CHECK(apps::divergence_of(r).find("4 of 6 steps skipped") != std::string::npos);
}
