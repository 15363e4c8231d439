// The in-process handover (actors/local_handover.hpp): a job whose workers and shards share one
// process ends with exactly the parameters of the same job with Cap'n Proto payloads, and a
// shard checks a local gradient as it checks a payload.
#include <catch2/catch.hpp>

#include <chrono>
#include <limits>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/job.hpp"
#include "actors/local_handover.hpp"
#include "actors/shard.hpp"
#include "actors/system_config.hpp"
#include "messages/atoms.hpp"
#include "messages/types.hpp"
#include "tests/actors/small_job.hpp"

using namespace herd;

namespace {

actors::job_inputs small_job(config::consistency_model model) {
  auto in = test::small_job();
  in.cfg.optimizer.type = config::optimizer_kind::adam;
  in.cfg.optimizer.lr = 0.01;
  in.cfg.training.chunk_batches = 2;
  in.cfg.training.max_steps = 12;
  in.cfg.consistency.model = model;
  return in;
}

actors::job_result train(const actors::job_inputs& in) {
  return test::run_to_end(in);
}

} // namespace

TEST_CASE("local_handover: shared buffers in one process train exactly as payloads do",
          "[actors][integration]") {
  auto local = small_job(config::consistency_model::bsp);
  SECTION("fp32 pulls and pushes (both handed over)") {}
  SECTION("compressed pushes (payloads), fp32 pulls (handed over)") {
    local.cfg.compression.codec = "fp16";
  }
  auto payloads = local;
  payloads.transfer.payloads_in_process = true;
  auto a = train(local);
  auto b = train(payloads);
  CHECK(a.clock == 12);
  CHECK(b.clock == 12);
  REQUIRE(a.params.size() == b.params.size());
  CHECK(a.params == b.params); // bit-identical
  CHECK(a.down_bytes == a.down_dense_bytes); // handed over: fp32 values, no payload headers
  CHECK(b.down_bytes > b.down_dense_bytes);   // payloads
  for (const auto& s : a.shards) {
    CHECK(s.refused == 0);
    CHECK(s.pushes == 2 * 12);
  }
}

TEST_CASE("local_handover: a shard refuses a local gradient that is non-finite or misplaced",
          "[actors]") {
  actors::system_config cfg;
  caf::actor_system sys{cfg};
  config::optimizer_config sgd;
  sgd.lr = 1.0;
  sgd.momentum = 0.0;
  auto core = std::make_shared<actors::shard_state>(
    0, 0, std::vector<float>(4, 1.0f), sgd,
    actors::consistency_rule{config::consistency_model::asp, 0});
  core->join(0, 0);
  actors::shard_options opts;
  opts.codecs = std::make_shared<kernels::compress::codec_registry>(
    kernels::compress::default_codecs());
  auto shard = actors::spawn_shard(sys, core, opts);
  caf::scoped_actor self{sys};
  auto push = [&](std::vector<float> g, uint32_t count) {
    actors::local_gradient lg;
    lg.header.worker = 0;
    lg.header.clock = 0;
    lg.header.count = count;
    lg.header.samples = 1;
    lg.values = std::make_shared<const std::vector<float>>(std::move(g));
    errc code = errc::none;
    self->request(shard, std::chrono::seconds(30), push_atom::value, lg)
      .receive([](uint64_t) {}, [&](caf::error& e) { code = code_of(e); });
    return code;
  };
  auto pull = [&] {
    actors::local_slice s;
    self->request(shard, std::chrono::seconds(30), pull_atom::value, uint32_t{0}, uint64_t{0},
                  local_atom::value)
      .receive([&](const actors::local_slice& l) { s = l; }, [](caf::error&) { FAIL("pull"); });
    REQUIRE(s.values);
    return *s.values;
  };
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK(push({0.0f, nan, 0.0f, 0.0f}, 4) == errc::payload_invalid);
  CHECK(push({0.0f, 0.0f, 0.0f, -inf}, 4) == errc::payload_invalid);
  CHECK(push({0.0f, 0.0f, 0.0f}, 4) == errc::payload_invalid); // fewer values than the slice
  CHECK(push({0.0f, 0.0f, 0.0f}, 3) == errc::payload_invalid); // not this shard's count
  CHECK(pull() == std::vector<float>(4, 1.0f)); // nothing applied
  CHECK(push({0.5f, 0.5f, 0.5f, 0.5f}, 4) == errc::none);
  CHECK(pull() == std::vector<float>(4, 0.5f)); // sgd, lr 1: 1 - 0.5
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
}
