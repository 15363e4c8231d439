// Checkpoints: the files (checksums, fallback to the previous whole one, keep K) and resuming: a
// job resumed from a checkpoint ends with bit-identical parameters to one that never stopped.
// The directory's lock: checkpoint_dir_test.cpp.
#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <caf/actor_system.hpp>

#include "actors/checkpoint_hold.hpp"
#include "actors/checkpoint_store.hpp"
#include "actors/job.hpp"
#include "actors/system_config.hpp"
#include "config/job_parse.hpp"
#include "messages/checkpoint_codec.hpp"
#include "tests/actors/sample_checkpoint.hpp"
#include "tests/actors/small_job.hpp"
#include "tests/temp_dir.hpp"

using namespace herd;
using test::sample_checkpoint;
namespace fs = std::filesystem;

namespace {

std::string newest(const std::string& dir) {
  std::vector<std::string> all;
  for (const auto& e : fs::directory_iterator(dir))
    all.push_back(e.path().string());
  std::sort(all.begin(), all.end());
  return all.back();
}

actors::job_inputs single_worker_job(const std::string& ckpt_dir) {
  auto in = test::small_job();
  auto& cfg = in.cfg;
  cfg.optimizer.type = config::optimizer_kind::adam;
  cfg.optimizer.lr = 0.01;
  cfg.optimizer.schedule = config::lr_schedule::cosine;
  cfg.training.chunk_batches = 3; // checkpoints fall inside chunks
  cfg.training.epochs = 3;
  cfg.training.max_steps = 40;
  cfg.checkpoint.every = 10;
  cfg.checkpoint.keep = 10;
  cfg.checkpoint.dir = ckpt_dir;
  cfg.workers.assign(1, config::worker_config{"local", "cpu", {}});
  return in;
}

actors::job_result run(const actors::job_inputs& in) {
  return test::run_to_end(in);
}

} // namespace

TEST_CASE("checkpoint: files round-trip and the newest whole one is found", "[actors]") {
  test::temp_dir dir;
  auto a = sample_checkpoint(10);
  REQUIRE(actors::write_checkpoint(dir.path().string(), a, 3));
  REQUIRE(actors::write_checkpoint(dir.path().string(), sample_checkpoint(20), 3));
  std::vector<std::string> notes;
  auto got = actors::load_latest_checkpoint(dir.path().string(), &notes);
  REQUIRE(got);
  CHECK(notes.empty());
  CHECK(got->clock == 20);
  CHECK(got->rule.model == "ssp");
  CHECK(got->data.waiting.size() == 1);
  CHECK(got->data.outstanding.at(0).second.indices == std::vector<uint32_t>{9, 8});
  CHECK(got->workers.at(0).pos == 1);
  CHECK(got->workers.at(0).device == "cuda:1");
  CHECK(got->next_worker_id == 3);
  auto s = messages::decode_shard_snapshot(got->shards.at(0));
  REQUIRE(s);
  CHECK(s->params == std::vector<float>{1.0f, -2.0f, 3.5f});
  CHECK(s->optimizer_steps == 5);
  CHECK(s->schedule_samples == 160);
  CHECK(s->members.at(0).second == 20);
}

TEST_CASE("checkpoint: a worker holds at each multiple of every and where asked, reports once",
          "[actors]") {
  actors::checkpoint_hold h;
  h.start(10, 20); // resumed at clock 20: no periodic hold there
  CHECK_FALSE(h.holds_at(20));
  CHECK_FALSE(h.hold_before(20));
  CHECK(h.holds_at(30));
  CHECK_FALSE(h.hold_before(29));
  CHECK(h.hold_before(30));
  CHECK_FALSE(h.report_due(true)); // a push still unanswered
  CHECK(h.report_due(false));
  CHECK_FALSE(h.report_due(false)); // once
  CHECK(h.resume(30));
  CHECK_FALSE(h.resume(30)); // not holding any more
  CHECK_FALSE(h.hold_before(30)); // resumed at 30: no second hold there
  h.hold_at(33); // the supervisor's hold (herd ctl checkpoint)
  CHECK(h.holds_at(35));
  CHECK_FALSE(h.hold_before(32));
  CHECK(h.hold_before(33));
}

TEST_CASE("checkpoint: a worker's carried state round-trips, a misfit is refused", "[actors]") {
  messages::carried_state s;
  s.loss_scale = 1024.0f;
  s.clean_steps = 17;
  s.residual = {{1.0f, -2.0f}, {0.5f, 0.25f, 0.125f}};
  s.velocity = {{}, {3.0f, 4.0f, 5.0f}};
  s.accumulated = {{}, {6.0f, 7.0f, 8.0f}};
  auto bytes = messages::encode_carried_state(s);
  auto got = messages::decode_carried_state(bytes, {2, 3});
  REQUIRE(got);
  CHECK(got->loss_scale == 1024.0f);
  CHECK(got->clean_steps == 17);
  CHECK(got->residual == s.residual);
  CHECK(got->velocity == s.velocity);
  CHECK(got->accumulated == s.accumulated);
  auto other_slices = messages::decode_carried_state(bytes, {2, 4});
  REQUIRE_FALSE(other_slices);
  CHECK_THAT(describe(other_slices.error()), Catch::Contains("residual holds 12 bytes"));
  CHECK_FALSE(messages::decode_carried_state(bytes, {2, 3, 1}));
  auto cut = bytes;
  cut.resize(cut.size() / 2);
  CHECK_FALSE(messages::decode_carried_state(cut, {2, 3}));
}

TEST_CASE("checkpoint: a damaged newest checkpoint falls back to the previous, saying why",
          "[actors]") {
  test::temp_dir dir;
  REQUIRE(actors::write_checkpoint(dir.path().string(), sample_checkpoint(10), 3));
  REQUIRE(actors::write_checkpoint(dir.path().string(), sample_checkpoint(20), 3));
  auto damaged = newest(dir.path().string());
  SECTION("a flipped byte in a shard file") {
    std::fstream f{damaged + "/shard-0.capnp", std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(40);
    f.put('\x5a');
  }
  SECTION("a truncated manifest") {
    fs::resize_file(damaged + "/manifest.json", 30);
  }
  SECTION("a missing shard file") {
    fs::remove(damaged + "/shard-0.capnp");
  }
  std::vector<std::string> notes;
  auto got = actors::load_latest_checkpoint(dir.path().string(), &notes);
  REQUIRE(got);
  CHECK(got->clock == 10);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].find("ckpt-000000000020 skipped") != std::string::npos);
}

TEST_CASE("checkpoint: only the newest `keep` remain, none whole is an error", "[actors]") {
  test::temp_dir dir;
  for (uint64_t c : {10, 20, 30, 40})
    REQUIRE(actors::write_checkpoint(dir.path().string(), sample_checkpoint(c), 2));
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    (void) e;
    ++n;
  }
  CHECK(n == 2);
  for (const auto& e : fs::directory_iterator(dir.path()))
    fs::remove(e.path() / "manifest.json");
  auto got = actors::load_latest_checkpoint(dir.path().string());
  REQUIRE_FALSE(got);
  CHECK(describe(got.error()).find("no whole checkpoint") != std::string::npos);
}

TEST_CASE("checkpoint: resuming gives bit-identical parameters to a run that never stopped",
          "[actors][integration]") {
  test::temp_dir dir;
  auto full_dir = dir.file("full");
  auto straight = run(single_worker_job(full_dir));
  // The checkpoints at 10, 20, 30 and the one at the end (40).
  REQUIRE(fs::exists(full_dir + "/ckpt-000000000020/manifest.json"));
  REQUIRE(fs::exists(full_dir + "/ckpt-000000000040/manifest.json"));
  auto from = dir.file("from");
  fs::create_directories(from);
  fs::copy(full_dir + "/ckpt-000000000020", from + "/ckpt-000000000020");
  auto c = actors::load_latest_checkpoint(from);
  REQUIRE(c);
  CHECK(c->clock == 20);
  REQUIRE(c->workers.size() == 1);
  CHECK(c->workers[0].has_chunk); // 20 is not a multiple of 3 batches: mid-chunk
  auto in = single_worker_job(dir.file("resumed"));
  in.resume = std::make_shared<const actors::checkpoint>(*c);
  auto resumed = run(in);
  CHECK(resumed.clock == straight.clock);
  CHECK(resumed.samples == straight.samples);
  REQUIRE(resumed.params.size() == straight.params.size());
  CHECK(resumed.params == straight.params);
  // A guard that the comparison can fail: resuming from clock 10 with a different lr differs.
  auto other = single_worker_job(dir.file("other"));
  other.cfg.optimizer.lr = 0.02;
  other.resume = in.resume;
  CHECK(run(other).params != straight.params);
}

TEST_CASE("checkpoint: a resumed worker continues its codec's residuals and its loss scale",
          "[actors][integration]") {
  // What the worker carries besides the shards' state: error feedback's residual, momentum
  // correction's u and v, the fp16 loss scale (lowered by early overflows on large inputs).
  auto variant = GENERATE(0, 1, 2);
  test::temp_dir dir;
  auto make = [&](const std::string& sub) {
    auto in = single_worker_job(dir.file(sub));
    if (variant == 0) {
      in.cfg.compression.codec = "topk";
      in.cfg.compression.density = 0.1;
      in.cfg.compression.error_feedback = true;
    } else if (variant == 1) {
      in.cfg.optimizer.type = config::optimizer_kind::sgd;
      in.cfg.optimizer.momentum = 0.9;
      in.cfg.compression.codec = "topk";
      in.cfg.compression.density = 0.1;
      in.cfg.compression.momentum_correction = true;
    } else {
      in.cfg.precision.compute = config::compute_precision::fp16;
      in.train = test::scaled(*in.train, 60.0f);
    }
    return in;
  };
  INFO("variant " << variant);
  auto straight = run(make("full"));
  if (variant == 2)
    CHECK(straight.steps_skipped > 0); // the scale came down from its start
  auto from = dir.file("from");
  fs::create_directories(from);
  fs::copy(dir.file("full") + "/ckpt-000000000020", from + "/ckpt-000000000020");
  CHECK(fs::exists(from + "/ckpt-000000000020/worker-0.capnp"));
  auto c = actors::load_latest_checkpoint(from);
  REQUIRE(c);
  REQUIRE(c->workers.size() == 1);
  CHECK_FALSE(c->workers[0].carried.empty());
  auto in = make("resumed");
  in.resume = std::make_shared<const actors::checkpoint>(*c);
  auto resumed = run(in);
  CHECK(resumed.samples == straight.samples);
  CHECK(resumed.params == straight.params);
  // The guard: resumed without what the worker carried, the run differs.
  auto bare = *c;
  bare.workers[0].carried.clear();
  auto other = make("bare");
  other.resume = std::make_shared<const actors::checkpoint>(bare);
  CHECK(run(other).params != straight.params);
}

TEST_CASE("checkpoint: a resumed worker keeps the device the checkpoint names",
          "[actors][integration]") {
  test::temp_dir dir;
  run(single_worker_job(dir.file("ck")));
  auto from = dir.file("from");
  fs::create_directories(from);
  fs::copy(dir.file("ck") + "/ckpt-000000000020", from + "/ckpt-000000000020");
  auto c = actors::load_latest_checkpoint(from);
  REQUIRE(c);
  REQUIRE(c->workers.size() == 1);
  CHECK(c->workers[0].device == "cpu");
  // As a worker added with `herd ctl add-worker --device cuda:99` would be saved: resuming
  // must ask for that device (absent here and on any real machine), not fall back to the CPU.
  auto moved = *c;
  moved.workers[0].device = "cuda:99";
  auto in = single_worker_job(dir.file("resumed"));
  in.resume = std::make_shared<const actors::checkpoint>(moved);
  actors::system_config scfg;
  caf::actor_system sys{scfg};
  auto r = actors::run_job(sys, in);
  REQUIRE_FALSE(r);
  CHECK_THAT(describe(r.error()), Catch::Contains("cuda:99"));
}

TEST_CASE("checkpoint: a BSP evaluation reads exactly its clock, as the checkpoint of it",
          "[actors][integration]") {
  test::temp_dir dir;
  auto in = single_worker_job(dir.file("ck"));
  in.cfg.workers.assign(2, config::worker_config{"local", "cpu", {}});
  in.cfg.training.eval_every = 10;
  in.cfg.training.evaluation = config::eval_mode::deferred;
  auto r = run(in);
  size_t compared = 0;
  for (uint64_t clock : {10, 20, 30}) {
    auto from = dir.file("one-" + std::to_string(clock));
    fs::create_directories(from);
    char name[40];
    std::snprintf(name, sizeof name, "ckpt-%012llu", (unsigned long long) clock);
    fs::copy(dir.file("ck") + "/" + name, from + "/" + name);
    auto c = actors::load_latest_checkpoint(from);
    REQUIRE(c);
    for (const auto& e : r.evals)
      if (e.clock == clock) {
        INFO("clock " << clock);
        CHECK(e.accuracy == c->accuracy);
        CHECK(e.loss == c->loss);
        ++compared;
      }
  }
  CHECK(compared == 3);
}

namespace {

// Rewrites `dir`'s manifest through `edit` with its checksum made to fit again.
void edit_manifest(const std::string& dir, const std::function<void(nlohmann::ordered_json&)>& edit,
                   bool fix_checksum = true) {
  auto path = dir + "/manifest.json";
  std::ifstream in{path};
  auto m = nlohmann::ordered_json::parse(in);
  in.close();
  edit(m);
  if (fix_checksum) {
    m.erase("checksum");
    auto text = m.dump();
    m["checksum"] = crc32(0L, reinterpret_cast<const Bytef*>(text.data()), uInt(text.size()));
  }
  std::ofstream{path} << m.dump(1);
}

} // namespace

TEST_CASE("checkpoint: a manifest value of the wrong type or a file outside it is damaged",
          "[actors]") {
  test::temp_dir dir;
  auto ck = dir.file("ck");
  REQUIRE(actors::write_checkpoint(ck, sample_checkpoint(10), 3));
  REQUIRE(actors::write_checkpoint(ck, sample_checkpoint(20), 3));
  auto newest = ck + "/ckpt-000000000020";
  fs::copy_file(newest + "/shard-0.capnp", dir.file("outside.capnp"));
  std::ifstream manifest{newest + "/manifest.json"};
  auto crc = nlohmann::ordered_json::parse(manifest)["shards"][0]["crc32"];
  auto which = GENERATE(0, 1, 2, 3, 4, 5);
  INFO("case " << which);
  std::string named;
  if (which == 0) {
    edit_manifest(newest, [](auto& m) { m["checksum"] = "abc"; }, false);
    named = "/checksum is not";
  } else if (which == 1) {
    edit_manifest(newest, [](auto& m) { m["checksum"] = -1; }, false);
    named = "/checksum is not";
  } else if (which == 2) {
    edit_manifest(newest, [](auto& m) { m["format"] = "1"; });
    named = "/format is not";
  } else if (which == 3) {
    edit_manifest(newest, [](auto& m) { m["counters"]["wire"] = {1, 2}; });
    named = "/counters/wire is not";
  } else if (which == 4) {
    edit_manifest(newest, [](auto& m) { m["shards"][0]["file"] = "../../outside.capnp"; });
    named = "/shards/0/file is not a file name inside the checkpoint directory";
  } else {
    auto abs = dir.file("outside.capnp");
    edit_manifest(newest, [&](auto& m) { m["shards"][0] = {{"file", abs}, {"crc32", crc}}; });
    named = "/shards/0/file is not a file name inside the checkpoint directory";
  }
  std::vector<std::string> notes;
  auto got = actors::load_latest_checkpoint(ck, &notes);
  REQUIRE(got);
  CHECK(got->clock == 10);
  REQUIRE(notes.size() == 1);
  CHECK_THAT(notes[0], Catch::Contains("ckpt-000000000020 skipped: manifest.json: " + named));
}

TEST_CASE("checkpoint: only ckpt-<digits> directories are pruned and loaded, by clock",
          "[actors]") {
  test::temp_dir dir;
  auto ck = dir.path().string();
  REQUIRE(actors::write_checkpoint(ck, sample_checkpoint(5), 2));
  fs::rename(ck + "/ckpt-000000000005", ck + "/ckpt-backup"); // whole, but not a checkpoint
  REQUIRE(actors::write_checkpoint(ck, sample_checkpoint(2000000000000), 2)); // 13 digits
  for (uint64_t c : {10, 20, 30})
    REQUIRE(actors::write_checkpoint(ck, sample_checkpoint(c), 2));
  CHECK((fs::exists(ck + "/ckpt-backup/manifest.json") && fs::exists(ck + "/ckpt-2000000000000")));
  CHECK(fs::exists(ck + "/ckpt-000000000030"));
  CHECK_FALSE(fs::exists(ck + "/ckpt-000000000020"));
  fs::remove_all(ck + "/ckpt-2000000000000");
  auto got = actors::load_latest_checkpoint(ck);
  REQUIRE(got);
  CHECK(got->clock == 30);
  CHECK(got->source == ck);
}

TEST_CASE("checkpoint: a write that fails leaves no partial directory and says why", "[actors]") {
  test::temp_dir dir;
  auto ck = dir.path().string();
  std::signal(SIGXFSZ, SIG_IGN); // a write past the limit fails with EFBIG, like ENOSPC
  rlimit was{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &was) == 0);
  rlimit small = was;
  small.rlim_cur = 16;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  auto written = actors::write_checkpoint(ck, sample_checkpoint(10), 2);
  ::setrlimit(RLIMIT_FSIZE, &was);
  REQUIRE_FALSE(written);
  CHECK_THAT(describe(written.error()), Catch::Contains("cannot write")
                                          && Catch::Contains(std::strerror(EFBIG)));
  CHECK(fs::is_empty(ck)); // no ckpt-000000000010.tmp left
  REQUIRE(actors::write_checkpoint(ck, sample_checkpoint(10), 2)); // and the next one works
}
