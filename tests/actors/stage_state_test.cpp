// The stage logic without actors: two stages wired by hand run a minibatch in GPipe order, and
// the gradient they accumulate is the unsplit model's.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <memory>
#include <numeric>

#include "actors/stage_state.hpp"
#include "model/stages.hpp"
#include "tests/actors/synthetic_data.hpp"

using namespace herd;

namespace {

struct two_stages {
  std::shared_ptr<const model::mlp> net =
    std::make_shared<const model::mlp>(std::vector<int>{20, 16, 12, 4});
  std::shared_ptr<const data::dataset> train =
    std::make_shared<data::dataset>(test::synthetic_dataset(64, 20, 4, 1));
  std::vector<model::stage_range> stages = model::cut_stages(*net, 2).stages;
  std::vector<int> owner;
  std::vector<model::slice> slices = model::stage_slices(stages, 3, &owner);
  std::vector<float> params = std::vector<float>(net->param_count());
  actors::stage_state head{0, net, stages, 0, slices, owner, 4, train, 10};
  actors::stage_state tail{1, net, stages, 1, slices, owner, 4};

  two_stages() {
    net->init(params.data(), 3);
    head.params() = params;
    tail.params() = params;
    messages::data_chunk c{1, 0, {}};
    for (uint32_t i = 0; i < 10; ++i)
      c.indices.push_back(i * 3);
    head.set_chunk(std::move(c));
  }
};

} // namespace

TEST_CASE("stage_state: each stage pulls and pushes only its own shards", "[actors]") {
  two_stages t;
  CHECK(t.head.own_shards() == std::vector<uint32_t>{0, 1}); // 20x16 outweighs the rest
  CHECK(t.tail.own_shards() == std::vector<uint32_t>{2});
}

TEST_CASE("stage_state: GPipe order, the commit after the last backward, the unsplit gradient",
          "[actors]") {
  two_stages t;
  t.head.params_pulled();
  t.tail.params_pulled();
  t.head.start_minibatch();
  // Stage 0: all four forwards run before any backward, even with a delta already queued.
  std::vector<messages::stage_deltas> back;
  int forwards = 0;
  for (int m = 0; m < 4; ++m) {
    auto w = t.head.run_next();
    REQUIRE(w);
    REQUIRE(w->to_next);
    CHECK(w->to_next->micro == uint32_t(forwards));
    CHECK(w->to_next->micro_count == 4);
    CHECK(w->to_next->total_rows == 10);
    CHECK(w->to_next->labels.size() == w->to_next->rows);
    t.tail.queue_forward(std::move(*w->to_next));
    auto b = t.tail.run_next(); // the last stage: forward, loss and backward at once
    REQUIRE(b);
    REQUIRE(b->to_prev);
    CHECK_FALSE(b->to_next);
    back.push_back(std::move(*b->to_prev));
    if (forwards == 0) { // a delta for micro-batch 0 is waiting; forwards still come first
      t.head.queue_backward(back.front());
      back.clear();
    }
    ++forwards;
  }
  CHECK(forwards == 4);
  CHECK_FALSE(t.head.minibatch_done());
  // Now the delta queued during the forwards runs, then the others as they arrive.
  int backwards = 0;
  auto first = t.head.run_next();
  REQUIRE(first);
  CHECK_FALSE(first->to_next);
  ++backwards;
  for (auto& d : back)
    t.head.queue_backward(std::move(d));
  while (auto w = t.head.run_next()) {
    CHECK_FALSE(w->to_prev); // stage 0 sends nothing back
    ++backwards;
  }
  CHECK(backwards == 4);
  REQUIRE(t.head.minibatch_done());

  // The two stages' gradients together are the whole minibatch's.
  std::vector<float> x(10 * 20);
  std::vector<uint8_t> y(10);
  for (size_t r = 0; r < 10; ++r) {
    std::copy(t.train->row(r * 3), t.train->row(r * 3) + 20, x.begin() + ptrdiff_t(r * 20));
    y[r] = t.train->y[r * 3];
  }
  std::vector<float> want(t.net->param_count());
  model::mlp_workspace ws;
  float loss = t.net->train_step(t.params.data(), x.data(), y.data(), 10, want.data(), ws);
  auto split = t.stages[0].count;
  for (size_t i = 0; i < want.size(); ++i) {
    float got = i < split ? t.head.grad()[i] : t.tail.grad()[i];
    INFO("parameter " << i);
    REQUIRE(std::fabs(got - want[i]) <= 1e-6f + 1e-4f * std::fabs(want[i]));
  }

  auto c = t.head.commit();
  CHECK(c.clock == 0);
  CHECK(c.t_end_ns >= c.t_start_ns);
  auto head_report = t.head.finish_minibatch(c);
  auto tail_report = t.tail.finish_minibatch(c);
  CHECK(head_report.samples == 10); // the replica's samples and loss, once
  CHECK(head_report.loss == Approx(loss).epsilon(1e-5));
  CHECK(tail_report.samples == 0);
  CHECK(head_report.clock == 1);
  CHECK(t.tail.clock() == 1);
  for (auto idle : {head_report.stage_idle, tail_report.stage_idle}) {
    CHECK(idle >= 0.0);
    CHECK(idle < 1.0);
  }
  // The next minibatch waits for the next clock's parameters.
  messages::stage_activations early;
  early.clock = 1;
  t.tail.queue_forward(early);
  CHECK_FALSE(t.tail.run_next());
  uint64_t done = 0;
  CHECK(t.head.take_finished_chunk(done));
  CHECK(done == 1);
}

TEST_CASE("stage_state: 1F1B keeps at most K - k micro-batches in flight at stage k",
          "[actors]") {
  two_stages t; // K = 2: stage 0 may hold 2 micro-batches, the last stage 1
  actors::stage_state head{0, t.net, t.stages, 0, t.slices, t.owner, 4, t.train, 10, true};
  actors::stage_state tail{1, t.net, t.stages, 1, t.slices, t.owner, 4, nullptr, 0, true};
  head.params() = t.params;
  tail.params() = t.params;
  messages::data_chunk c{1, 0, {}};
  for (uint32_t i = 0; i < 10; ++i)
    c.indices.push_back(i * 3);
  head.set_chunk(std::move(c));
  head.params_pulled();
  tail.params_pulled();
  head.start_minibatch();
  std::string order; // stage 0's work: F or B per unit
  std::vector<messages::stage_deltas> deltas;
  while (!head.minibatch_done()) {
    auto w = head.run_next();
    if (!w) { // waiting for a delta: deliver the oldest one
      REQUIRE_FALSE(deltas.empty());
      head.queue_backward(std::move(deltas.front()));
      deltas.erase(deltas.begin());
      continue;
    }
    if (w->to_next) {
      order += "F";
      tail.queue_forward(std::move(*w->to_next));
      auto b = tail.run_next();
      REQUIRE(b);
      deltas.push_back(std::move(*b->to_prev));
    } else {
      order += "B";
    }
  }
  CHECK(order == "FFBFBFBB"); // warm-up of 2, then one backward, one forward
  // The same gradient as the unsplit model (and so as GPipe).
  std::vector<float> x(10 * 20);
  std::vector<uint8_t> y(10);
  for (size_t r = 0; r < 10; ++r) {
    std::copy(t.train->row(r * 3), t.train->row(r * 3) + 20, x.begin() + ptrdiff_t(r * 20));
    y[r] = t.train->y[r * 3];
  }
  std::vector<float> want(t.net->param_count());
  model::mlp_workspace ws;
  t.net->train_step(t.params.data(), x.data(), y.data(), 10, want.data(), ws);
  auto split = t.stages[0].count;
  for (size_t i = 0; i < want.size(); ++i) {
    float got = i < split ? head.grad()[i] : tail.grad()[i];
    INFO("parameter " << i);
    REQUIRE(std::fabs(got - want[i]) <= 1e-6f + 1e-4f * std::fabs(want[i]));
  }
}

namespace {

// One minibatch through both stages in GPipe order; returns stage 0's commit.
messages::stage_commit run_minibatch(two_stages& t) {
  t.head.params_pulled();
  t.tail.params_pulled();
  t.head.start_minibatch();
  std::vector<messages::stage_deltas> back;
  while (auto w = t.head.run_next()) {
    REQUIRE(w->to_next);
    t.tail.queue_forward(std::move(*w->to_next));
    while (auto b = t.tail.run_next())
      back.push_back(std::move(*b->to_prev));
  }
  for (auto& d : back)
    t.head.queue_backward(std::move(d));
  while (t.head.run_next()) {
  }
  REQUIRE(t.head.minibatch_done());
  return t.head.commit();
}

} // namespace

TEST_CASE("stage_state: fp16 carries stage 0's loss scale to the last stage, every stage "
          "unscales",
          "[actors]") {
  two_stages t;
  t.head.set_precision(kernels::half_format::fp16);
  t.tail.set_precision(kernels::half_format::fp16);
  auto c = run_minibatch(t);
  CHECK(c.finite);
  CHECK(t.head.loss_scale() == 65536.0f); // the scaler's starting scale
  CHECK(t.tail.loss_scale() == 65536.0f); // came with the activations
  // Scaled, the gradient is about 2^16 times the fp32 one; unscaled, it is the fp32 one to
  // fp16's precision.
  two_stages ref;
  run_minibatch(ref);
  auto split = t.stages[0].count;
  auto grad_of = [&](two_stages& s, size_t i) {
    return i < split ? s.head.grad()[i] : s.tail.grad()[i];
  };
  REQUIRE(t.head.gradient_ready(c));
  REQUIRE(t.tail.gradient_ready(c));
  double worst = 0, norm = 0;
  for (size_t i = 0; i < t.net->param_count(); ++i) {
    norm = std::max(norm, double(std::fabs(grad_of(ref, i))));
    worst = std::max(worst, double(std::fabs(grad_of(t, i) - grad_of(ref, i))));
  }
  CHECK(norm > 0);
  CHECK(worst <= 2e-2 * norm);
  auto report = t.head.finish_minibatch(c);
  CHECK_FALSE(report.skipped);
}

TEST_CASE("stage_state: inf/NaN in a later stage's gradient skips the minibatch on every stage",
          "[actors]") {
  two_stages t;
  // A NaN in the last stage's weights: its gradient and every delta it sends back are NaN.
  auto w = t.stages[1].offset;
  t.tail.params()[w] = std::nanf("");
  auto c = run_minibatch(t);
  CHECK_FALSE(c.finite);
  CHECK_FALSE(t.head.gradient_ready(c));
  CHECK_FALSE(t.tail.gradient_ready(c));
  auto report = t.head.finish_minibatch(c);
  CHECK(report.skipped); // counted once, by stage 0
  CHECK_FALSE(t.tail.finish_minibatch(c).skipped);
  // fp16: an overflow halves stage 0's loss scale for the next minibatch.
  two_stages h;
  h.head.set_precision(kernels::half_format::fp16);
  h.tail.set_precision(kernels::half_format::fp16);
  auto kept = h.tail.params()[w];
  h.tail.params()[w] = std::numeric_limits<float>::infinity();
  auto overflowed = run_minibatch(h);
  CHECK_FALSE(overflowed.finite);
  CHECK(h.head.loss_scale() == 65536.0f);
  h.head.finish_minibatch(overflowed);
  h.tail.finish_minibatch(overflowed);
  h.tail.params()[w] = kept;
  h.head.set_chunk(messages::data_chunk{2, 0, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}});
  auto next = run_minibatch(h);
  CHECK(next.finite);
  CHECK(h.head.loss_scale() == 32768.0f);
  CHECK(h.tail.loss_scale() == 32768.0f);
}
