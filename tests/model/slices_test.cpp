#include <catch2/catch.hpp>

#include "model/slices.hpp"

using herd::model::partition;

TEST_CASE("slices: partition covers the vector contiguously and balanced", "[model]") {
  for (size_t n : {1u, 2u, 7u, 10u, 235146u}) {
    for (size_t parts = 1; parts <= std::min<size_t>(n, 9); ++parts) {
      auto s = partition(n, parts);
      REQUIRE(s.size() == parts);
      size_t next = 0, lo = n, hi = 0;
      for (const auto& x : s) {
        CHECK(x.offset == next);
        next += x.count;
        lo = std::min(lo, x.count);
        hi = std::max(hi, x.count);
      }
      CHECK(next == n);
      CHECK(hi - lo <= 1);
    }
  }
}
