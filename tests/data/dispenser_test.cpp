#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

#include "data/dispenser.hpp"
#include "data/permutation.hpp"

using namespace herd::data;

namespace {

// Per epoch, how often each sample was consumed.
using tally = std::map<uint32_t, std::vector<int>>;

void count(tally& t, const chunk& c, size_t samples) {
  auto& v = t[c.epoch];
  v.resize(samples);
  for (auto i : c.indices) {
    REQUIRE(i < samples);
    ++v[i];
  }
}

void check_exactly_once(const tally& t, size_t samples, uint32_t epochs) {
  REQUIRE(t.size() == epochs);
  for (const auto& [epoch, v] : t) {
    INFO("epoch " << epoch);
    REQUIRE(v.size() == samples);
    for (size_t i = 0; i < samples; ++i) {
      INFO("sample " << i);
      REQUIRE(v[i] == 1);
    }
  }
}

std::vector<uint32_t> order(dispenser& d, uint64_t worker, size_t chunks) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < chunks; ++i) {
    auto c = d.next(worker);
    REQUIRE(c);
    out.insert(out.end(), c->indices.begin(), c->indices.end());
    d.done(worker, c->id);
  }
  return out;
}

} // namespace

TEST_CASE("dispenser: every sample exactly once per epoch over several epochs", "[data]") {
  const auto seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937 gen{seed};
  for (int round = 0; round < 40; ++round) {
    const size_t samples = 1 + gen() % 500;
    const size_t chunk_size = 1 + gen() % (samples + 10); // may exceed samples or not divide it
    const uint32_t epochs = 1 + gen() % 4;
    INFO("samples " << samples << " chunk " << chunk_size << " epochs " << epochs);
    dispenser d{samples, chunk_size, gen(), epochs};
    tally t;
    size_t in_epoch = 0;
    uint32_t last_epoch = 0;
    std::set<uint64_t> ids;
    while (auto c = d.next(gen() % 3)) {
      if (c->epoch != last_epoch) {
        CHECK(in_epoch == samples);
        in_epoch = 0;
        last_epoch = c->epoch;
      }
      // Full chunks, except the last of an epoch.
      in_epoch += c->indices.size();
      if (in_epoch < samples)
        CHECK(c->indices.size() == chunk_size);
      else
        CHECK(c->indices.size() == samples - (samples - 1) / chunk_size * chunk_size);
      CHECK(ids.insert(c->id).second);
      count(t, *c, samples);
      CHECK_FALSE(d.finished());
      d.done(0, c->id);
      d.done(1, c->id);
      d.done(2, c->id);
    }
    check_exactly_once(t, samples, epochs);
    CHECK(d.finished());
    CHECK(d.epoch() == epochs);
    CHECK(d.samples_done() == samples * epochs);
    CHECK(d.outstanding() == 0);
  }
}

TEST_CASE("dispenser: reclaim mid-epoch from one of several workers keeps exactly once",
          "[data]") {
  const auto seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937 gen{seed};
  for (int round = 0; round < 20; ++round) {
    const size_t samples = 50 + gen() % 400;
    const size_t chunk_size = 1 + gen() % 37;
    const uint32_t epochs = 1 + gen() % 3;
    INFO("samples " << samples << " chunk " << chunk_size << " epochs " << epochs);
    dispenser d{samples, chunk_size, gen(), epochs};
    std::map<uint64_t, std::vector<chunk>> held; // worker -> chunks it holds
    tally consumed;
    uint64_t next_worker = 3;
    std::vector<uint64_t> alive = {0, 1, 2};
    for (int step = 0; !d.finished(); ++step) {
      REQUIRE(step < 100000);
      const auto w = alive[gen() % alive.size()];
      const auto action = gen() % 10;
      if (action < 5) {
        if (auto c = d.next(w))
          held[w].push_back(*c);
      } else if (action < 9 || alive.size() == 1) {
        if (!held[w].empty()) {
          auto c = held[w].front();
          held[w].erase(held[w].begin());
          count(consumed, c, samples);
          d.done(w, c.id);
        }
      } else {
        // Worker w goes away with its chunks unconsumed; a new worker joins.
        const auto n = held[w].size();
        CHECK(d.reclaim(w) == n);
        CHECK(d.waiting() >= n);
        std::vector<uint64_t> lost_ids;
        for (const auto& c : held[w])
          lost_ids.push_back(c.id);
        held.erase(w);
        alive.erase(std::find(alive.begin(), alive.end(), w));
        alive.push_back(next_worker++);
        // A late done() from the departed worker changes nothing.
        const auto before = d.samples_done();
        for (auto id : lost_ids)
          d.done(w, id);
        CHECK(d.samples_done() == before);
        // The reclaimed chunks come next, oldest first.
        for (auto id : lost_ids) {
          auto c = d.next(alive.back());
          REQUIRE(c);
          CHECK(c->id == id);
          held[alive.back()].push_back(*c);
        }
      }
    }
    check_exactly_once(consumed, samples, epochs);
    CHECK(d.samples_done() == samples * epochs);
    CHECK_FALSE(d.next(alive.front()));
  }
}

TEST_CASE("dispenser: the same seed gives the same order and another seed or epoch another",
          "[data]") {
  dispenser a{1000, 64, 42, 2};
  dispenser b{1000, 64, 42, 2};
  dispenser c{1000, 64, 43, 2};
  const auto a0 = order(a, 0, 16), a1 = order(a, 0, 16);
  const auto b0 = order(b, 5, 16), b1 = order(b, 5, 16);
  const auto c0 = order(c, 0, 16);
  CHECK(a0 == b0);
  CHECK(a1 == b1);
  CHECK(a0 != a1);
  CHECK(a0 != c0);
  // Each is a permutation, and not the identity.
  auto sorted = a1;
  std::sort(sorted.begin(), sorted.end());
  std::vector<uint32_t> iota(1000);
  std::iota(iota.begin(), iota.end(), 0u);
  CHECK(sorted == iota);
  CHECK(a1 != iota);
  // Chunk size does not change the order.
  dispenser e{1000, 7, 42, 1};
  CHECK(order(e, 0, 143) == a0);
}

TEST_CASE("dispenser: permutations are pinned so every platform agrees", "[data]") {
  CHECK(splitmix64(0) == 0xE220A8397B1DCDAFull); // published first output of splitmix64(0)
  const auto p = epoch_permutation(10, 42, 0);
  CHECK(p == std::vector<uint32_t>{2, 0, 4, 7, 8, 3, 5, 1, 9, 6});
  // A longer one, pinned through a position-weighted checksum and its ends.
  const auto q = epoch_permutation(1000, 42, 3);
  uint64_t sum = 0;
  for (size_t i = 0; i < q.size(); ++i)
    sum += (i + 1) * q[i];
  CHECK(sum == 250841266u);
  CHECK(std::vector<uint32_t>(q.begin(), q.begin() + 5) == std::vector<uint32_t>{602, 182, 304, 608, 484});
  CHECK(epoch_permutation(1, 42, 0) == std::vector<uint32_t>{0});
  CHECK(epoch_permutation(0, 42, 0).empty());
}

TEST_CASE("dispenser: every order of a small permutation is about equally likely", "[data]") {
  // 6 orders of 3 samples over 60000 epochs: a biased shuffle misses 10000 each by far more.
  std::map<std::vector<uint32_t>, int> seen;
  for (uint32_t epoch = 0; epoch < 60000; ++epoch)
    ++seen[epoch_permutation(3, 7, epoch)];
  REQUIRE(seen.size() == 6);
  for (const auto& [perm, n] : seen)
    CHECK(std::abs(n - 10000) < 400); // about 4 standard deviations
}

TEST_CASE("dispenser: reclaimed chunks go to the front of those waiting", "[data]") {
  dispenser d{100, 10, 1, 1};
  auto a = d.next(1), b = d.next(1), c = d.next(2);
  REQUIRE((a && b && c));
  CHECK(d.reclaim(1) == 2);
  CHECK(d.reclaim(2) == 1);
  CHECK(d.waiting() == 3);
  CHECK(d.outstanding() == 0);
  std::vector<uint64_t> ids;
  for (int i = 0; i < 4; ++i)
    ids.push_back(d.next(3)->id);
  CHECK(ids == std::vector<uint64_t>{c->id, a->id, b->id, 4});
}

TEST_CASE("dispenser: an epoch limit ends the hand-out and finished waits for done", "[data]") {
  dispenser d{10, 4, 1, 2};
  std::vector<chunk> got;
  while (auto c = d.next(1))
    got.push_back(*c);
  REQUIRE(got.size() == 6); // 4+4+2 per epoch
  CHECK(got[2].indices.size() == 2);
  CHECK(got[3].epoch == 1);
  CHECK(d.epoch() == 2);
  CHECK(d.outstanding() == 6);
  CHECK_FALSE(d.finished());
  for (size_t i = 0; i < 5; ++i)
    d.done(1, got[i].id);
  CHECK_FALSE(d.finished());
  // The last holder goes away: its chunk comes back although all epochs were handed out.
  CHECK(d.reclaim(1) == 1);
  CHECK_FALSE(d.finished());
  auto again = d.next(2);
  REQUIRE(again);
  CHECK(again->id == got[5].id);
  CHECK(again->indices == got[5].indices);
  CHECK_FALSE(d.next(2));
  d.done(2, again->id);
  CHECK(d.finished());
  CHECK(d.samples_done() == 20);
}

TEST_CASE("dispenser: unlimited epochs keep going", "[data]") {
  dispenser d{5, 2, 9, 0};
  for (int i = 0; i < 300; ++i) {
    auto c = d.next(0);
    REQUIRE(c);
    d.done(0, c->id);
  }
  CHECK(d.epoch() == 100); // 3 chunks per epoch
  CHECK_FALSE(d.finished());
}

TEST_CASE("dispenser: chunk ids start at 1 and stay unique across epochs", "[data]") {
  dispenser d{7, 3, 5, 3};
  std::set<uint64_t> ids;
  uint64_t first = 0;
  while (auto c = d.next(0)) {
    if (first == 0)
      first = c->id;
    CHECK(ids.insert(c->id).second);
  }
  CHECK(first == 1);
  CHECK(ids.size() == 9);
}

TEST_CASE("dispenser: done from another worker or with an unknown id is ignored", "[data]") {
  dispenser d{10, 5, 3, 1};
  auto c = d.next(1);
  REQUIRE(c);
  d.done(2, c->id);
  d.done(1, 12345);
  d.done(1, 0);
  CHECK(d.outstanding() == 1);
  CHECK(d.samples_done() == 0);
  d.done(1, c->id);
  d.done(1, c->id); // twice
  CHECK(d.outstanding() == 0);
  CHECK(d.samples_done() == 5);
  CHECK(d.reclaim(1) == 0);
}

TEST_CASE("dispenser: a zero chunk size is refused and zero samples finish at once", "[data]") {
  CHECK_THROWS_AS(dispenser(10, 0, 1, 1), std::invalid_argument);
  dispenser empty{0, 4, 1, 3};
  CHECK_FALSE(empty.next(0));
  CHECK(empty.finished());
}

TEST_CASE("dispenser: a worker leaving mid-chunk hands back only the samples it did not consume",
          "[data]") {
  const size_t samples = 100;
  dispenser d{samples, 16, 11, 2};
  tally t;
  auto a = d.next(1);
  REQUIRE(a);
  // Worker 1 trained 5 of its 16 samples and leaves: those 5 are consumed, 11 come back.
  chunk trained{a->id, a->epoch, {a->indices.begin(), a->indices.begin() + 5}};
  count(t, trained, samples);
  d.consumed(1, a->id, 5);
  CHECK(d.samples_done() == 5);
  d.consumed(2, a->id, 3); // another worker's word on it changes nothing
  CHECK(d.samples_done() == 5);
  REQUIRE(d.reclaim(1) == 1);
  auto rest = d.next(2);
  REQUIRE(rest);
  CHECK(rest->id == a->id);
  CHECK(rest->indices == std::vector<uint32_t>(a->indices.begin() + 5, a->indices.end()));
  count(t, *rest, samples);
  d.done(2, rest->id);
  // A chunk consumed whole this way is done.
  auto b = d.next(2);
  REQUIRE(b);
  count(t, *b, samples);
  d.consumed(2, b->id, b->indices.size());
  CHECK(d.reclaim(2) == 0);
  while (auto c = d.next(3)) {
    count(t, *c, samples);
    d.done(3, c->id);
  }
  CHECK(d.finished());
  CHECK(d.samples_done() == 2 * samples);
  check_exactly_once(t, samples, 2);
}

TEST_CASE("dispenser: held_by lists a worker's outstanding chunks in hand-out order", "[data]") {
  dispenser d{100, 10, 1, 1};
  auto a = d.next(1), b = d.next(2), c = d.next(1);
  REQUIRE((a && b && c));
  CHECK(d.held_by(1) == std::vector<uint64_t>{a->id, c->id});
  CHECK(d.held_by(2) == std::vector<uint64_t>{b->id});
  d.done(1, a->id);
  CHECK(d.held_by(1) == std::vector<uint64_t>{c->id});
  d.reclaim(2);
  CHECK(d.held_by(2).empty());
  CHECK(d.held_by(7).empty());
}
