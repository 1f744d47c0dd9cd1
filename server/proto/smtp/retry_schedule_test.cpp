// Tests of the outbound retry schedule (retry_schedule.h): the default table 5m, 10m, 20m,
// 40m, 1h, 1h, ..., the last retry moved onto arrival + lifetime and the give-up there,
// delay-warning timing, policy validation and saturation at extreme values.
#include "proto/smtp/retry_schedule.h"

#include <gtest/gtest.h>

#include <vector>

using namespace mail;
using namespace mail::smtp;

namespace {

WallTime at(Duration d) { return WallTime{d.count()}; }
Duration since(WallTime t) { return Duration(t.unix_us); }

// Follows the schedule from arrival 0, each attempt failing at its scheduled time, and
// returns the gaps between attempts until the schedule gives up.
std::vector<Duration> gaps(const RetryPolicy& p, std::size_t max_attempts) {
  std::vector<Duration> out;
  WallTime now = at(0s);
  for (std::uint32_t attempts = 1; attempts <= max_attempts; ++attempts) {
    const auto next = next_retry(p, at(0s), attempts, now);
    if (!next) break;
    out.push_back(since(*next) - since(now));
    now = *next;
  }
  return out;
}

}  // namespace

TEST(RetrySchedule, DefaultTableDoublesFromFiveMinutesAndCapsAtOneHour) {
  const auto g = gaps(RetryPolicy{}, 8);
  const std::vector<Duration> want = {5min, 10min, 20min, 40min, 1h, 1h, 1h, 1h};
  EXPECT_EQ(g, want);
}

TEST(RetrySchedule, DefaultGivesUpAfterFiveDays_Rfc5321_4_5_4_1) {
  const RetryPolicy p;
  // 5+10+20+40 = 75 min, then hourly up to 119h15m, then a last 45 min gap: the last
  // attempt is at exactly 120h, and its failure gives up.
  const auto g = gaps(p, 10'000);
  Duration total = 0s;
  for (auto d : g) total += d;
  EXPECT_EQ(total, 120h);
  EXPECT_EQ(g.size(), 4u + 118u + 1u);
  ASSERT_FALSE(g.empty());
  EXPECT_EQ(g.back(), 45min);
}

TEST(RetrySchedule, LastRetryIsMovedOntoTheLifetimeEndAndAFailureThereGivesUp) {
  const RetryPolicy p;
  // After 5 failures the backoff is the 1h cap.
  EXPECT_EQ(next_retry(p, at(0s), 5, at(119h)), at(120h));
  EXPECT_EQ(next_retry(p, at(0s), 5, at(119h + 1us)), at(120h));  // not given up early
  EXPECT_EQ(next_retry(p, at(0s), 5, at(120h - 1us)), at(120h));
  EXPECT_EQ(next_retry(p, at(0s), 5, at(120h)), std::nullopt);  // the attempt at the end failed
  EXPECT_EQ(next_retry(p, at(0s), 5, at(121h)), std::nullopt);
  // The first backoff is 5 min.
  EXPECT_EQ(next_retry(p, at(0s), 1, at(120h - 5min)), at(120h));
  EXPECT_EQ(next_retry(p, at(0s), 1, at(120h - 5min + 1us)), at(120h));
  // A short lifetime (the integration test's 3 s): retries at 1 s, then 3 s, then give up.
  RetryPolicy short_life;
  short_life.first = 1s;
  short_life.lifetime = 3s;
  EXPECT_EQ(next_retry(short_life, at(0s), 1, at(10ms)), at(1s + 10ms));
  EXPECT_EQ(next_retry(short_life, at(0s), 2, at(1s + 20ms)), at(3s));
  EXPECT_EQ(next_retry(short_life, at(0s), 3, at(3s + 5ms)), std::nullopt);
}

TEST(RetrySchedule, BackoffIsIndependentOfArrival) {
  const RetryPolicy p;
  EXPECT_EQ(next_retry(p, at(0s), 3, at(2h)), at(2h + 20min));
  EXPECT_EQ(next_retry(p, at(1h), 3, at(2h)), at(2h + 20min));
}

TEST(RetrySchedule, FactorOneIsConstant) {
  RetryPolicy p;
  p.first = 15min;
  p.factor = 1;
  EXPECT_EQ(next_retry(p, at(0s), 1, at(0s)), at(15min));
  EXPECT_EQ(next_retry(p, at(0s), 1'000'000, at(0s)), at(15min));
}

TEST(RetrySchedule, SaturatesWithoutOverflow) {
  RetryPolicy p;
  p.factor = 0xFFFF'FFFFu;
  p.max = Duration(INT64_MAX);
  p.lifetime = Duration(INT64_MAX);
  const auto far = next_retry(p, at(0s), 0xFFFF'FFFFu, at(0s));
  ASSERT_TRUE(far.has_value());
  EXPECT_EQ(far->unix_us, INT64_MAX);
  // `now` near the end of time: the sum clamps and is still not after the clamped deadline.
  const WallTime late{INT64_MAX - 10};
  EXPECT_EQ(next_retry(p, late, 3, late), WallTime{INT64_MAX});
  // Defaults with a huge attempt count stay at the cap.
  EXPECT_EQ(next_retry(RetryPolicy{}, at(0s), 0xFFFF'FFFFu, at(1h)), at(2h));
}

TEST(RetrySchedule, DelayWarningDueAtFourHoursOnce) {
  const RetryPolicy p;
  EXPECT_FALSE(delay_warning_due(p, at(1h), at(5h - 1us), false));
  EXPECT_TRUE(delay_warning_due(p, at(1h), at(5h), false));
  EXPECT_TRUE(delay_warning_due(p, at(1h), at(50h), false));
  EXPECT_FALSE(delay_warning_due(p, at(1h), at(50h), true));
  RetryPolicy off;
  off.delay_warning = 0s;
  EXPECT_FALSE(delay_warning_due(off, at(0s), at(200h), false));
}

TEST(RetrySchedule, ValidateRejectsEachBrokenRule) {
  EXPECT_TRUE(validate(RetryPolicy{}).ok());
  RetryPolicy p;
  p.first = 0s;
  EXPECT_EQ(validate(p).code(), Errc::invalid);
  p = {};
  p.factor = 0;
  EXPECT_EQ(validate(p).code(), Errc::invalid);
  p = {};
  p.max = 1min;  // below first
  EXPECT_EQ(validate(p).code(), Errc::invalid);
  p = {};
  p.lifetime = 0s;
  EXPECT_EQ(validate(p).code(), Errc::invalid);
  p = {};
  p.delay_warning = -1s;
  EXPECT_EQ(validate(p).code(), Errc::invalid);
  p = {};
  p.max = p.first;  // equal is fine
  EXPECT_TRUE(validate(p).ok());
}
