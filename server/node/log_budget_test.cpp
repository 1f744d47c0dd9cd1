// LogBudget: the burst, the refill rate, the count of suppressed lines, and no overflow
// after a long quiet time.
#include "node/log_budget.h"

#include <gtest/gtest.h>

namespace mail::node {
namespace {

Instant at_ms(std::int64_t ms) { return Instant(Duration(ms * 1000)); }

TEST(LogBudget, BurstThenRefillAtTheRate) {
  LogBudget b(LogBudgetConfig{3, 2});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.admit(at_ms(0)));
  EXPECT_FALSE(b.admit(at_ms(0)));
  EXPECT_FALSE(b.admit(at_ms(499)));  // 2 per second: one token after 500 ms
  EXPECT_TRUE(b.admit(at_ms(500)));
  EXPECT_FALSE(b.admit(at_ms(500)));
  EXPECT_EQ(b.take_suppressed(), 3u);
  EXPECT_EQ(b.take_suppressed(), 0u);
}

TEST(LogBudget, FrequentCallsStillAccumulate) {
  LogBudget b(LogBudgetConfig{1, 1000});  // one token per millisecond
  EXPECT_TRUE(b.admit(at_ms(0)));
  // Calls every 0.4 ms: whole milliseconds are kept, so a token arrives every ms.
  int admitted = 0;
  for (int i = 1; i <= 25; ++i) admitted += b.admit(Instant(Duration(i * 400))) ? 1 : 0;
  EXPECT_EQ(admitted, 10);
}

TEST(LogBudget, LongQuietTimeFillsTheBucketWithoutOverflow) {
  LogBudget b(LogBudgetConfig{5, 4'000'000'000u});
  EXPECT_TRUE(b.admit(at_ms(0)));
  const Instant later(Duration(std::int64_t{1} << 60));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.admit(later));
  EXPECT_FALSE(b.admit(later));
}

}  // namespace
}  // namespace mail::node
