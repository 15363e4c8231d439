// Tensor-parallel ranks as actors: the same gradient as the unsplit model, a dead rank fails the
// step instead of hanging it, and a BSP job ends with the unsplit job's parameters.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <random>
#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/system_config.hpp"
#include "actors/tensor_group.hpp"
#include "tests/actors/small_job.hpp"

using namespace herd;
using namespace std::chrono_literals;

namespace {

size_t mismatches(const std::vector<float>& got, const std::vector<float>& want, float rtol) {
  size_t bad = 0;
  for (size_t i = 0; i < want.size(); ++i)
    if (!(std::fabs(got[i] - want[i]) <= 1e-6f + rtol * std::fabs(want[i])))
      ++bad;
  return bad;
}

} // namespace

TEST_CASE("tensor_group: rank actors give the unsplit gradient, step after step", "[actors]") {
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  for (auto shape : {std::vector<int>{20, 16, 12, 4}, std::vector<int>{20, 32, 32, 32, 4}}) {
    auto net = std::make_shared<const model::mlp>(shape);
    std::vector<float> params(net->param_count());
    net->init(params.data(), 3);
    std::mt19937_64 gen{5};
    std::normal_distribution<float> dist;
    int rows = 9;
    std::vector<float> x(size_t(rows) * 20);
    std::vector<uint8_t> y(static_cast<size_t>(rows));
    for (int ranks : {2, 3}) {
      INFO("layers " << shape.size() << ", ranks " << ranks);
      actors::tensor_group group{sys, net, ranks, 10s};
      for (int step = 0; step < 3; ++step) { // the ranks' buffers are reused across steps
        for (auto& v : x)
          v = dist(gen);
        for (auto& v : y)
          v = uint8_t(gen() % 4);
        std::vector<float> want(net->param_count()), got(net->param_count(), NAN);
        model::mlp_workspace ws;
        float want_loss = net->train_step(params.data(), x.data(), y.data(), rows, want.data(), ws);
        float loss = group.train_step(params.data(), x.data(), y.data(), rows, got.data());
        CHECK(loss == Approx(want_loss).epsilon(1e-5));
        CHECK(mismatches(got, want, 1e-4f) == 0);
      }
    }
  }
}

TEST_CASE("tensor_group: a rank that ends fails the step instead of hanging it", "[actors]") {
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  auto net = std::make_shared<const model::mlp>(std::vector<int>{20, 16, 12, 4});
  std::vector<float> params(net->param_count()), grad(net->param_count());
  net->init(params.data(), 3);
  std::vector<float> x(20 * 4, 0.5f);
  std::vector<uint8_t> y(4, 1);
  actors::tensor_group group{sys, net, 2, 60s};
  group.train_step(params.data(), x.data(), y.data(), 4, grad.data()); // a working step first
  caf::anon_send_exit(group.ranks()[1], caf::exit_reason::kill);
  auto t0 = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(group.train_step(params.data(), x.data(), y.data(), 4, grad.data()),
                  std::runtime_error);
  CHECK(std::chrono::steady_clock::now() - t0 < 30s); // the down message, not the timeout
}

TEST_CASE("tensor_parallel: a BSP job on 2 and 3 ranks ends with the unsplit job's parameters",
          "[actors]") {
  for (auto shape : {std::vector<int>{20, 16, 12, 4}, std::vector<int>{20, 32, 32, 32, 4}}) {
    auto in = test::small_job();
    in.cfg.model.layers = shape;
    in.cfg.workers.resize(1); // one worker: the same batches in the same order in every run
    in.cfg.training.max_steps = 24;
    auto want = test::run_to_end(in).params;
    for (int ranks : {2, 3}) {
      INFO("layers " << shape.size() << ", ranks " << ranks);
      in.cfg.parallelism.tensor_parallel = ranks;
      auto got = test::run_to_end(in);
      REQUIRE(got.params.size() == want.size());
      CHECK(got.steps == 24);
      CHECK(mismatches(got.params, want, 1e-3f) == 0);
    }
  }
}
