// core/units.h: every unit, the exact overflow boundaries, and the rejected shapes.
#include "core/units.h"

#include <gtest/gtest.h>

namespace mail {
namespace {

std::string error_of(const Result<Duration>& r) { return r ? std::string("ok") : r.error().detail; }
std::string error_of(const Result<std::uint64_t>& r) { return r ? std::string("ok") : r.error().detail; }

TEST(ParseDuration, EachUnit) {
  EXPECT_EQ(parse_duration("7us").value(), 7us);
  EXPECT_EQ(parse_duration("250ms").value(), 250ms);
  EXPECT_EQ(parse_duration("90s").value(), 90s);
  EXPECT_EQ(parse_duration("5m").value(), 5min);
  EXPECT_EQ(parse_duration("5min").value(), 5min);
  EXPECT_EQ(parse_duration("2h").value(), 2h);
  EXPECT_EQ(parse_duration("30").value(), 30s);  // a bare number is seconds
  EXPECT_EQ(parse_duration("10 s").value(), 10s);
  EXPECT_EQ(parse_duration("0ms").value(), 0s);
  EXPECT_EQ(parse_duration("007s").value(), 7s);
}

TEST(ParseDuration, Boundaries) {
  // Duration is int64 microseconds: INT64_MAX us is the largest value in every unit.
  EXPECT_EQ(parse_duration("9223372036854775807us").value(), Duration(INT64_MAX));
  EXPECT_NE(error_of(parse_duration("9223372036854775808us")).find("too large"), std::string::npos);
  EXPECT_EQ(parse_duration("9223372036854775ms").value(), Duration(9223372036854775000));
  EXPECT_FALSE(parse_duration("9223372036854776ms"));
  EXPECT_EQ(parse_duration("9223372036854s").value(), Duration(9223372036854000000));
  EXPECT_FALSE(parse_duration("9223372036855s"));
  EXPECT_FALSE(parse_duration("9223372036855"));
  EXPECT_EQ(parse_duration("2562047788h").value(), std::chrono::hours(2562047788));
  EXPECT_EQ(parse_duration("5d").value(), std::chrono::hours(120));
  EXPECT_FALSE(parse_duration("2562047789h"));
  EXPECT_EQ(parse_duration("153722867280m").value(), std::chrono::minutes(153722867280));
  EXPECT_FALSE(parse_duration("153722867281min"));
  // The digits themselves overflow uint64 before any unit is applied.
  EXPECT_FALSE(parse_duration("18446744073709551616us"));
  EXPECT_FALSE(parse_duration("99999999999999999999999999s"));
}

TEST(ParseDuration, Rejects) {
  EXPECT_NE(error_of(parse_duration("")).find("empty"), std::string::npos);
  EXPECT_NE(error_of(parse_duration("-5s")).find("negative"), std::string::npos);
  EXPECT_NE(error_of(parse_duration("5 fortnights")).find("unknown unit 'fortnights'"), std::string::npos);
  EXPECT_NE(error_of(parse_duration("s")).find("no leading digits"), std::string::npos);
  for (const char* bad : {"1w", "1.5s", "+5s", " 5s", "5s ", "5S", "5 5s", "0x10s", "5sec", "ms"}) {
    EXPECT_FALSE(parse_duration(bad)) << bad;
  }
}

TEST(ParseSize, EachUnit) {
  EXPECT_EQ(parse_size("10485760").value(), 10485760u);
  EXPECT_EQ(parse_size("512B").value(), 512u);
  for (const char* k : {"10k", "10K", "10KB", "10KiB", "10 KiB"}) EXPECT_EQ(parse_size(k).value(), 10u << 10) << k;
  for (const char* m : {"35M", "35MB", "35MiB"}) EXPECT_EQ(parse_size(m).value(), 35u << 20) << m;
  for (const char* g : {"1G", "1GB", "1GiB"}) EXPECT_EQ(parse_size(g).value(), 1u << 30) << g;
  EXPECT_EQ(parse_size("0").value(), 0u);
}

TEST(ParseSize, Boundaries) {
  EXPECT_EQ(parse_size("18446744073709551615").value(), UINT64_MAX);
  EXPECT_NE(error_of(parse_size("18446744073709551616")).find("too large"), std::string::npos);
  EXPECT_EQ(parse_size("18014398509481983K").value(), 18014398509481983ull << 10);
  EXPECT_FALSE(parse_size("18014398509481984K"));
  EXPECT_EQ(parse_size("17592186044415M").value(), 17592186044415ull << 20);
  EXPECT_FALSE(parse_size("17592186044416M"));
  EXPECT_EQ(parse_size("17179869183GiB").value(), 17179869183ull << 30);
  EXPECT_FALSE(parse_size("17179869184GiB"));
}

TEST(ParseSize, Rejects) {
  EXPECT_NE(error_of(parse_size("")).find("empty"), std::string::npos);
  EXPECT_NE(error_of(parse_size("-1")).find("negative"), std::string::npos);
  EXPECT_NE(error_of(parse_size("12XB")).find("unknown unit 'XB'"), std::string::npos);
  for (const char* bad : {"1T", "1.5M", "+1", " 1", "1M ", "1m", "1kb", "M", "1 2"}) EXPECT_FALSE(parse_size(bad)) << bad;
}

}  // namespace
}  // namespace mail
