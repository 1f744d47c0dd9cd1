// lower_bound_uid (uid_lookup.h) against std::lower_bound, on strictly increasing uid runs
// with and without gaps (expunges), for uids in, between, before and after the run.
#include "store/uid_lookup.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace mail::store {
namespace {

std::uint32_t self(std::uint32_t u) { return u; }

TEST(UidLookup, DenseRunFindsEachUidAndTheEnds) {
  std::vector<std::uint32_t> uids;
  for (std::uint32_t u = 5; u < 105; ++u) uids.push_back(u);
  for (std::uint32_t u = 0; u < 110; ++u) {
    auto it = lower_bound_uid(uids.begin(), uids.end(), u, self);
    EXPECT_EQ(it, std::lower_bound(uids.begin(), uids.end(), u)) << u;
  }
  std::vector<std::uint32_t> none;
  EXPECT_EQ(lower_bound_uid(none.begin(), none.end(), 1, self), none.end());
}

TEST(UidLookup, GapsBeforeTheUidStillFindIt) {
  // RFC 9051 §2.3.1.1: expunged uids leave holes; the window must still hold the uid.
  const std::vector<std::uint32_t> uids{1, 2, 40, 41, 42, 90, 4000000000u};
  for (std::uint32_t u : {0u, 1u, 2u, 3u, 39u, 40u, 42u, 43u, 89u, 90u, 91u, 3999999999u, 4000000000u, 4294967295u}) {
    EXPECT_EQ(lower_bound_uid(uids.begin(), uids.end(), u, self), std::lower_bound(uids.begin(), uids.end(), u)) << u;
  }
}

RC_GTEST_PROP(UidLookup, AgreesWithLowerBound, (std::vector<std::uint8_t> steps, std::uint32_t start, std::uint32_t probe)) {
  std::vector<std::uint32_t> uids;
  std::uint64_t u = start % 1000 + 1;
  for (auto s : steps) {
    if (u > 0xFFFFFFFFull) break;
    uids.push_back(static_cast<std::uint32_t>(u));
    u += 1 + (s % 4 == 0 ? s : 0);  // mostly dense, sometimes a gap
  }
  const std::uint32_t p = uids.empty() ? probe : (probe % 3 == 0 ? probe : uids.front() + probe % (uids.size() * 2 + 3));
  RC_ASSERT(lower_bound_uid(uids.begin(), uids.end(), p, self) == std::lower_bound(uids.begin(), uids.end(), p));
}

}  // namespace
}  // namespace mail::store
