// Prng: determinism, fork independence and distribution bounds.
#include "core/prng.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace mail {
namespace {

TEST(Prng, SameSeedSameStream) {
  Prng a(42), b(42);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
}

TEST(Prng, ForkDependsOnlyOnSeedAndLabel) {
  Prng a(7), b(7);
  for (int i = 0; i < 10; ++i) (void)b.next_u64();  // draws must not perturb forks
  Prng fa = a.fork("net"), fb = b.fork("net");
  EXPECT_EQ(fa.next_u64(), fb.next_u64());
  EXPECT_NE(a.fork("net").next_u64(), a.fork("disk").next_u64());
}

TEST(Prng, KnownValueIsStable) {
  // Pinned constants, never to be updated to make the test pass: every recorded seed (a CI
  // failure's replay command, a bug report, a trace hash in the docs) replays only if the
  // seeding, the xoshiro256** step, fork() and below()/between() stay exactly these.
  Prng p(1);
  EXPECT_EQ(p.next_u64(), 0xb3f2af6d0fc710c5ull);
  EXPECT_EQ(p.next_u64(), 0x853b559647364ceaull);
  EXPECT_EQ(p.next_u64(), 0x92f89756082a4514ull);
  EXPECT_EQ(Prng(0).next_u64(), 0x99ec5f36cb75f2b4ull);
  EXPECT_EQ(Prng(1).fork("net").next_u64(), 0x2f6e2f5a5f47a439ull);
  Prng q(1);
  EXPECT_EQ(q.below(1000), 702u);
  EXPECT_EQ(q.between(10, 20), 15u);
}

RC_GTEST_PROP(Prng, BelowStaysInRange, (std::uint64_t seed, std::uint64_t bound)) {
  RC_PRE(bound > 0u);
  Prng p(seed);
  for (int i = 0; i < 20; ++i) RC_ASSERT(p.below(bound) < bound);
}

RC_GTEST_PROP(Prng, BetweenIsInclusive, (std::uint64_t seed, std::uint32_t lo, std::uint32_t span)) {
  Prng p(seed);
  const std::uint64_t hi = std::uint64_t{lo} + span;
  const auto v = p.between(lo, hi);
  RC_ASSERT(v >= lo);
  RC_ASSERT(v <= hi);
}

}  // namespace
}  // namespace mail
