// Large payloads in parts: a job whose pulls and pushes all travel in small parts (forced in one
// process) ends with exactly the parameters of the same job with whole payloads.
#include <catch2/catch.hpp>

#include <caf/actor_system.hpp>

#include "actors/job.hpp"
#include "actors/system_config.hpp"
#include "messages/types.hpp"
#include "tests/actors/small_job.hpp"

using namespace herd;

namespace {

actors::job_inputs parts_job(config::consistency_model model) {
  auto in = test::small_job();
  in.cfg.optimizer.type = config::optimizer_kind::sgd;
  in.cfg.optimizer.lr = 0.1;
  in.cfg.training.chunk_batches = 1;
  in.cfg.training.max_steps = 10;
  in.cfg.consistency.model = model;
  return in;
}

actors::job_result train(const actors::job_inputs& in) {
  return test::run_to_end(in);
}

} // namespace

TEST_CASE("parts: payloads split into parts give the same training as whole payloads",
          "[actors][integration]") {
  auto whole = parts_job(config::consistency_model::bsp);
  whole.transfer.payloads_in_process = true; // whole payloads, not the local handover
  auto split = whole;
  split.transfer.part_bytes = 256; // each slice (296 floats) travels in 5 parts
  split.transfer.parts_in_process = true;
  SECTION("fp32 pulls and pushes") {}
  SECTION("bf16 pulls, fp16 pushes") {
    for (auto* in : {&whole, &split}) {
      in->cfg.compression.codec = "fp16";
      in->cfg.compression.pull = config::pull_format::bf16;
    }
  }
  auto a = train(whole);
  auto b = train(split);
  CHECK(a.clock == 10);
  CHECK(b.clock == 10);
  CHECK(a.up_bytes == b.up_bytes);
  CHECK(a.down_bytes == b.down_bytes);
  REQUIRE(a.params.size() == b.params.size());
  CHECK(a.params == b.params);
  for (const auto& s : b.shards)
    CHECK(s.refused == 0);
}

TEST_CASE("parts: split_leading_parts keeps the tail and splits the rest evenly", "[messages]") {
  messages::payload p{std::vector<char>(10)};
  for (size_t i = 0; i < p.bytes.size(); ++i)
    p.bytes[i] = char(i);
  auto lead = messages::split_leading_parts(p, 4);
  REQUIRE(lead.size() == 2);
  CHECK(lead[0].bytes == std::vector<char>{0, 1, 2, 3});
  CHECK(lead[1].bytes == std::vector<char>{4, 5, 6, 7});
  CHECK(p.bytes == std::vector<char>{8, 9});
  messages::payload exact{std::vector<char>(8, 'x')};
  CHECK(messages::split_leading_parts(exact, 4).size() == 1);
  CHECK(exact.bytes.size() == 4);
  messages::payload small{std::vector<char>(4, 'x')};
  CHECK(messages::split_leading_parts(small, 4).empty());
  CHECK(messages::split_leading_parts(small, 0).empty());
  CHECK(small.bytes.size() == 4);
}
