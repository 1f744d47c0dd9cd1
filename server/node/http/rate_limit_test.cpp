// RequestBucket / RequestRateLimiter (RFC 6585 §4: what earns a 429 and its Retry-After),
// Histogram and its Prometheus text (format 0.0.4: cumulative buckets, +Inf, _sum, _count),
// and the admin API's constant-time comparison. Time is a value here: no clock, no sleeps.
#include "node/http/rate_limit.h"

#include <gtest/gtest.h>

#include "core/histogram.h"
#include "node/http/admin_routes.h"
#include "node/http/metrics.h"

namespace mail::node {
namespace {

Instant at(std::int64_t ms) { return Instant{} + std::chrono::milliseconds(ms) + std::chrono::hours(1); }

RateLimitConfig limits(std::uint32_t rate, std::uint32_t burst, std::size_t clients_max = 100) {
  RateLimitConfig c;
  c.requests_per_second = rate;
  c.burst = burst;
  c.clients_max = clients_max;
  return c;
}

TEST(RequestRateLimiter, Rfc6585Sec4_AFullBucketAdmitsTheBurstThenRefusesWithTheWait) {
  RequestRateLimiter limiter(limits(10, 3));  // one request per 100 ms, 3 at once
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limiter.admit("192.0.2.1", at(0)).has_value()) << i;
  const auto wait = limiter.admit("192.0.2.1", at(0));
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, std::chrono::milliseconds(100));
  EXPECT_EQ(retry_after_seconds(*wait), 1u);  // rounded up, never 0
  // A refused request costs nothing: one interval later exactly one more is admitted.
  EXPECT_FALSE(limiter.admit("192.0.2.1", at(100)).has_value());
  EXPECT_TRUE(limiter.admit("192.0.2.1", at(100)).has_value());
}

TEST(RequestRateLimiter, SustainedRateIsAdmittedForever) {
  RequestRateLimiter limiter(limits(10, 1));
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.admit("192.0.2.1", at(i * 100)).has_value()) << i;
  EXPECT_TRUE(limiter.admit("192.0.2.1", at(999 * 100 + 50)).has_value());
}

TEST(RequestRateLimiter, ClientsHaveTheirOwnBuckets) {
  RequestRateLimiter limiter(limits(1, 1));
  EXPECT_FALSE(limiter.admit("192.0.2.1", at(0)).has_value());
  EXPECT_TRUE(limiter.admit("192.0.2.1", at(0)).has_value());
  EXPECT_FALSE(limiter.admit("192.0.2.2", at(0)).has_value());
}

TEST(RequestRateLimiter, ZeroRateIsOff) {
  RequestRateLimiter limiter(limits(0, 1));
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(limiter.admit("192.0.2.1", at(0)).has_value());
  EXPECT_EQ(limiter.tracked(), 0u);
}

TEST(RequestRateLimiter, MemoryIsBoundedIdleClientsAreForgottenAndNewcomersShareABucket) {
  RequestRateLimiter limiter(limits(1, 1, 4));
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(limiter.admit("10.0.0." + std::to_string(i), at(0)).has_value());
  EXPECT_EQ(limiter.tracked(), 4u);
  // The table is full of busy clients: two newcomers share one overflow bucket.
  EXPECT_FALSE(limiter.admit("10.0.1.1", at(10)).has_value());
  EXPECT_TRUE(limiter.admit("10.0.1.2", at(10)).has_value());
  EXPECT_LE(limiter.tracked(), 4u);
  // A second later the busy ones are idle (full again) and make room.
  EXPECT_FALSE(limiter.admit("10.0.2.1", at(2000)).has_value());
  EXPECT_LE(limiter.tracked(), 4u);
  EXPECT_GE(limiter.tracked(), 1u);
}

TEST(RetryAfter, Rfc9110Sec10_2_3_DeltaSecondsRoundedUp) {
  EXPECT_EQ(retry_after_seconds(std::chrono::microseconds(1)), 1u);
  EXPECT_EQ(retry_after_seconds(std::chrono::milliseconds(1000)), 1u);
  EXPECT_EQ(retry_after_seconds(std::chrono::milliseconds(1001)), 2u);
  EXPECT_EQ(retry_after_seconds(std::chrono::seconds(30)), 30u);
}

TEST(Histogram, ObservationsLandInTheFirstBucketWhoseBoundIsAtLeastThem) {
  Histogram h({0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 1.0, 20.0}) h.observe(v);
  EXPECT_EQ(h.counts(), (std::vector<std::uint64_t>{2, 2, 0, 1}));
  EXPECT_EQ(h.cumulative(0), 2u);
  EXPECT_EQ(h.cumulative(2), 4u);
  EXPECT_EQ(h.cumulative(3), 5u);
  EXPECT_EQ(h.count(), 5u);
  EXPECT_DOUBLE_EQ(h.sum(), 21.65);
}

TEST(MetricsText, PrometheusHistogramHasCumulativeBucketsInfSumAndCount) {
  Histogram a({0.001, 0.5});
  a.observe(0.0005);
  a.observe(0.25);
  a.observe(3);
  Histogram b({0.001, 0.5});
  MetricsText m;
  m.histogram("cloudsdial_x_seconds", "X latency.", {{"kind=\"a\"", &a}, {"kind=\"b\"", &b}});
  EXPECT_EQ(m.text(),
            "# HELP cloudsdial_x_seconds X latency.\n"
            "# TYPE cloudsdial_x_seconds histogram\n"
            "cloudsdial_x_seconds_bucket{kind=\"a\",le=\"0.001\"} 1\n"
            "cloudsdial_x_seconds_bucket{kind=\"a\",le=\"0.5\"} 2\n"
            "cloudsdial_x_seconds_bucket{kind=\"a\",le=\"+Inf\"} 3\n"
            "cloudsdial_x_seconds_sum{kind=\"a\"} 3.2505\n"
            "cloudsdial_x_seconds_count{kind=\"a\"} 3\n"
            "cloudsdial_x_seconds_bucket{kind=\"b\",le=\"0.001\"} 0\n"
            "cloudsdial_x_seconds_bucket{kind=\"b\",le=\"0.5\"} 0\n"
            "cloudsdial_x_seconds_bucket{kind=\"b\",le=\"+Inf\"} 0\n"
            "cloudsdial_x_seconds_sum{kind=\"b\"} 0\n"
            "cloudsdial_x_seconds_count{kind=\"b\"} 0\n");
}

TEST(MetricsText, UnlabelledHistogramHasOnlyTheLeLabel) {
  Histogram a({1});
  a.observe(2);
  MetricsText m;
  m.histogram("cloudsdial_y_seconds", "Y.", {{"", &a}});
  EXPECT_NE(m.text().find("cloudsdial_y_seconds_bucket{le=\"1\"} 0\n"), std::string::npos) << m.text();
  EXPECT_NE(m.text().find("cloudsdial_y_seconds_bucket{le=\"+Inf\"} 1\n"), std::string::npos) << m.text();
  EXPECT_NE(m.text().find("cloudsdial_y_seconds_count 1\n"), std::string::npos) << m.text();
}

TEST(AdminApi, Rfc7617CredentialsComparedWholly) {
  EXPECT_TRUE(constant_time_equal("s3cret", "s3cret"));
  EXPECT_FALSE(constant_time_equal("s3cret", "s3creT"));
  EXPECT_FALSE(constant_time_equal("s3cret", "s3cret "));  // a prefix is not a match
  EXPECT_FALSE(constant_time_equal("", "x"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace mail::node
