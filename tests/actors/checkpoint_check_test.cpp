// check_checkpoint: a checkpoint that does not fit the job's training set, slices or optimizer,
// or does not fit itself (forged with valid checksums), is refused before the job starts.
#include <catch2/catch.hpp>

#include <functional>
#include <limits>
#include <string>

#include "actors/checkpoint_check.hpp"
#include "actors/optimizer_state.hpp"
#include "config/job_parse.hpp"
#include "messages/checkpoint_codec.hpp"
#include "tests/actors/small_job.hpp"

using namespace herd;

namespace {

struct fixture {
  actors::job_inputs in = test::small_job(); // 256 samples, 2 shards, 2 workers
  actors::checkpoint c;

  fixture() {
    in.cfg.training.epochs = 2;
    c.clock = 10;
    c.job_json = config::to_json(in.cfg);
    c.next_worker_id = 2;
    c.data.epoch = 0;
    c.data.pos = 48;
    c.data.next_id = 3;
    for (uint32_t w = 0; w < 2; ++w) {
      data::chunk k{w + 1, 0, {}};
      for (uint32_t i = 0; i < 24; ++i)
        k.indices.push_back(w * 24 + i);
      c.data.outstanding.emplace_back(w, k);
      actors::worker_position p;
      p.worker = w;
      p.node = "local";
      p.clock = 10;
      p.has_chunk = true;
      p.chunk = k;
      p.pos = 8;
      c.workers.push_back(p);
    }
    shards_of(in.cfg.optimizer);
  }

  void shards_of(const config::optimizer_config& opt, uint64_t member_clock = 10,
                 const std::function<void(messages::shard_snapshot&)>& tweak = {}) {
    auto plan = actors::plan_job(in.cfg);
    c.shards.clear();
    for (uint32_t i = 0; i < plan.slices.size(); ++i) {
      actors::optimizer_state o(opt, plan.slices[i].count);
      messages::shard_snapshot s;
      s.shard = i;
      s.offset = plan.slices[i].offset;
      s.version = 10;
      s.params.assign(plan.slices[i].count, 0.5f);
      s.momentum = o.momentum();
      s.variance = o.variance();
      s.members = {{0, member_clock}, {1, member_clock}};
      if (tweak && i == 1)
        tweak(s);
      c.shards.push_back(messages::encode_shard_snapshot(s));
    }
  }

  // The refusal's text; "" when the checkpoint fits.
  std::string check() const {
    auto plan = actors::plan_job(in.cfg);
    auto err = actors::check_checkpoint(c, plan, *in.train);
    if (!err)
      return "";
    CHECK(code_of(err) == errc::config_invalid);
    return describe(err);
  }
};

bool says(const std::string& text, const std::string& part) {
  INFO(text);
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("checkpoint_check: a checkpoint that fits its job is accepted", "[actors]") {
  fixture f;
  CHECK(f.check() == "");
}

TEST_CASE("checkpoint_check: a checkpoint of a larger training set than the job's limit is "
          "refused",
          "[actors]") {
  fixture f;
  auto fewer = *f.in.train;
  fewer.count = 255; // train_limit 255 over a file of 256; the checkpoint kept all of them
  fewer.file_count = 256;
  f.in.train = std::make_shared<data::dataset>(fewer);
  CHECK(says(f.check(), "training set of 256 samples, the job has 255 (/data/train_limit)"));
}

TEST_CASE("checkpoint_check: a sample index past the training set is refused", "[actors]") {
  fixture f;
  SECTION("in a worker's chunk") {
    f.c.workers[1].chunk.indices[20] = 3999999999u;
    CHECK(says(f.check(), "chunk 2 of worker 1 holds sample index 3999999999"));
  }
  SECTION("in a waiting chunk") {
    f.c.data.waiting.push_back(data::chunk{99, 1, {5000000}});
    f.c.data.next_id = 100;
    CHECK(says(f.check(), "waiting chunk 99 holds sample index 5000000"));
  }
  SECTION("as the data position") {
    f.c.data.pos = 256;
    CHECK(says(f.check(), "past the job's training set of 256 samples"));
  }
}

TEST_CASE("checkpoint_check: a data position past the job's epochs is refused", "[actors]") {
  fixture f;
  f.c.data.epoch = 1000000;
  CHECK(says(f.check(), "epoch 1000001, the job has 2 (/training/epochs)"));
}

TEST_CASE("checkpoint_check: another seed is refused mid-epoch, taken between epochs it is not",
          "[actors]") {
  fixture f;
  f.in.cfg.training.seed = 43; // the checkpoint's job had the default
  CHECK(says(f.check(), "in the middle of epoch 1 under /training/seed 42, the job has 43"));
  // Between epochs (no chunk out, position 0): the next epoch is the job's to shuffle.
  f.c.data = {};
  f.c.data.epoch = 1;
  f.c.data.next_id = 3;
  for (auto& w : f.c.workers)
    w.has_chunk = false;
  CHECK(f.check() == "");
}

TEST_CASE("checkpoint_check: forged worker ids and clocks are refused", "[actors]") {
  fixture f;
  SECTION("an id not below next_worker_id") {
    f.c.workers[0].worker = 70000;
    CHECK(says(f.check(), "worker 70000 is not below its next worker id 2"));
  }
  SECTION("a worker listed twice") {
    f.c.workers.push_back(f.c.workers[0]);
    CHECK(says(f.check(), "worker 0 is listed twice"));
  }
  SECTION("a worker clock far past the checkpoint's") {
    f.c.workers[0].clock = uint64_t{1} << 62;
    CHECK(says(f.check(), "worker 0 is at clock 4611686018427387904"));
  }
  SECTION("a checkpoint clock no job reaches") {
    f.c.clock = uint64_t{1} << 63;
    for (auto& w : f.c.workers)
      w.clock = f.c.clock;
    CHECK(says(f.check(), "clock 9223372036854775808 is past any a job reaches"));
  }
}

TEST_CASE("checkpoint_check: shard members that are not the checkpoint's workers are refused",
          "[actors]") {
  fixture f;
  SECTION("a member the checkpoint does not list") {
    f.c.workers.pop_back();
    f.c.data.outstanding.pop_back();
    CHECK(says(f.check(), "has worker 1 as a member, a worker the checkpoint does not list"));
  }
  SECTION("a member at another clock") {
    f.shards_of(f.in.cfg.optimizer, 12);
    CHECK(says(f.check(), "has worker 0 at clock 12, the checkpoint lists it at 10"));
  }
  SECTION("a worker that is no member") {
    f.c.workers.push_back(f.c.workers[0]);
    f.c.workers.back().worker = 2;
    f.c.workers.back().has_chunk = false;
    f.c.next_worker_id = 3;
    CHECK(says(f.check(), "does not have the checkpoint's worker 2 as a member"));
  }
}

TEST_CASE("checkpoint_check: shard state of another optimizer is refused", "[actors]") {
  fixture f;
  // Taken under momentum correction (shards ran plain SGD), resumed as SGD with momentum.
  auto plain = f.in.cfg.optimizer;
  plain.momentum = 0;
  f.shards_of(plain);
  CHECK(says(f.check(), "holds the state of another optimizer"));
  f.in.cfg.compression.momentum_correction = true;
  CHECK(f.check() == "");
}

TEST_CASE("checkpoint_check: non-finite parameters or optimizer state are refused", "[actors]") {
  fixture f;
  auto adam = f.in.cfg.optimizer;
  adam.type = config::optimizer_kind::adam;
  f.in.cfg.optimizer = adam;
  f.shards_of(adam);
  REQUIRE(f.check() == "");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  f.shards_of(adam, 10, [&](messages::shard_snapshot& s) { s.params[7] = nan; });
  CHECK(says(f.check(), "the checkpoint's shard 1's parameter 7 is NaN: the checkpoint is "
                        "damaged"));
  f.shards_of(adam, 10, [&](messages::shard_snapshot& s) { s.momentum[3] = -inf; });
  CHECK(says(f.check(), "shard 1's momentum value 3 is infinite"));
  f.shards_of(adam, 10, [&](messages::shard_snapshot& s) { s.variance[0] = -1.0f; });
  CHECK(says(f.check(), "shard 1's second-moment value 0 is negative"));
  f.shards_of(adam, 10, [&](messages::shard_snapshot& s) { s.momentum[3] = -2.0f; });
  CHECK(f.check() == ""); // a negative momentum is normal
}
