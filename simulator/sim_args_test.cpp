// The command-line values of `cloudsdial sim` (sim_args.h): checked numbers and seed ranges
// whose errors say what is wrong, the nearest-name suggestion, and find_scenario's message
// for a mistyped scenario name or an unreadable file; one entry of a sweep's warned_seeds.
#include "simulator/sim_args.h"

#include <gtest/gtest.h>

#include "simulator/sim_main.h"

namespace mail::sim {
namespace {

std::string error_of(const Result<std::uint64_t>& r) { return r ? "ok" : r.error().detail; }
std::string error_of(const Result<SeedRange>& r) { return r ? "ok" : r.error().detail; }

TEST(SimArgs, NumbersDecimalAndHex) {
  EXPECT_EQ(parse_number("0").value(), 0u);
  EXPECT_EQ(parse_number("42").value(), 42u);
  EXPECT_EQ(parse_number("0x2a").value(), 42u);
  EXPECT_EQ(parse_number("0X2A").value(), 42u);
  EXPECT_EQ(parse_number("18446744073709551615").value(), UINT64_MAX);
  EXPECT_EQ(parse_number("0xffffffffffffffff").value(), UINT64_MAX);
}

TEST(SimArgs, NumberErrorsSayWhy) {
  EXPECT_EQ(error_of(parse_number("99999999999999999999999")),
            "99999999999999999999999 is larger than 18446744073709551615");
  EXPECT_EQ(error_of(parse_number("18446744073709551616")), "18446744073709551616 is larger than 18446744073709551615");
  EXPECT_EQ(error_of(parse_number("0x10000000000000000")), "0x10000000000000000 is larger than 0xffffffffffffffff");
  EXPECT_EQ(error_of(parse_number("-1")), "-1 is negative");
  EXPECT_EQ(error_of(parse_number("")), "an empty value is not a number");
  EXPECT_EQ(error_of(parse_number("abc")), "'abc' is not a number (decimal, or hex with 0x)");
  // from_chars stops early on these; the rest of the text must not be ignored.
  for (const char* junk : {"12abc", "+5", " 5", "5 ", "1e3", "0x", "0xg", "1.5"}) {
    EXPECT_NE(error_of(parse_number(junk)).find("is not a number"), std::string::npos) << junk;
  }
  EXPECT_EQ(error_of(parse_number("0", 1, 1024)), "0 is smaller than 1");
  EXPECT_EQ(error_of(parse_number("2000", 1, 1024)), "2000 is larger than 1024");
}

TEST(SimArgs, SeedRanges) {
  auto r = parse_seed_range("1..100");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->first, 1u);
  EXPECT_EQ(r->last, 100u);
  EXPECT_EQ(parse_seed_range("0x10..0x10")->first, 16u);
  EXPECT_EQ(error_of(parse_seed_range("abc")), "'abc' is not a seed range (A..B, e.g. 1..100)");
  EXPECT_EQ(error_of(parse_seed_range("")), "'' is not a seed range (A..B, e.g. 1..100)");
  EXPECT_EQ(error_of(parse_seed_range("5..2")), "'5..2': A must be <= B");
  EXPECT_EQ(error_of(parse_seed_range("x..5")), "'x..5': A: 'x' is not a number (decimal, or hex with 0x)");
  EXPECT_EQ(error_of(parse_seed_range("1..")), "'1..': B: an empty value is not a number");
  EXPECT_EQ(error_of(parse_seed_range("-3..5")), "'-3..5': A: -3 is negative");
  EXPECT_EQ(error_of(parse_seed_range("1..99999999999999999999999")),
            "'1..99999999999999999999999': B: 99999999999999999999999 is larger than 18446744073709551615");
  // The whole u64 range would wrap the run count to 0 and allocate a report per seed.
  EXPECT_NE(error_of(parse_seed_range("0..18446744073709551615")).find("is more than 10000000 runs"),
            std::string::npos);
  EXPECT_TRUE(parse_seed_range("1..10000000").ok());
  EXPECT_FALSE(parse_seed_range("0..10000000").ok());
}

TEST(SimArgs, EditDistance) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("smtp-fault", "smtp-faults"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("SMTP-Basic", "smtp-basic"), 0u);
  EXPECT_EQ(edit_distance("smtp-crash", "smtp-basic"), edit_distance("smtp-basic", "smtp-crash"));
}

TEST(SimArgs, NearestName) {
  const std::vector<std::string> names{"smtp-basic", "smtp-faults", "smtp-crash", "smtp-tls"};
  EXPECT_EQ(nearest_name("smtp-fault", names), "smtp-faults");
  EXPECT_EQ(nearest_name("smtp-basci", names), "smtp-basic");
  EXPECT_EQ(nearest_name("SMTP-TLS", names), "smtp-tls");
  EXPECT_EQ(nearest_name("crash", names), "smtp-crash");  // a part of one name
  EXPECT_EQ(nearest_name("smtp", names), std::nullopt);    // a part of every name
  EXPECT_EQ(nearest_name("dns-flood", names), std::nullopt);
  EXPECT_EQ(nearest_name("", names), std::nullopt);
  EXPECT_EQ(nearest_name("x", {}), std::nullopt);
  EXPECT_EQ(nearest_name("--sed", {"--seeds", "--seed"}), "--seed");
  EXPECT_EQ(nearest_name("abx", {"abc", "abd"}), "abc");  // a tie goes to the first
}

TEST(SimArgs, FindScenarioSuggestsTheNearestBuiltin) {
  ASSERT_TRUE(find_scenario("smtp-faults").ok());
  auto typo = find_scenario("smtp-fault");
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.error().detail,
            "unknown scenario 'smtp-fault': did you mean 'smtp-faults'? "
            "(`cloudsdial sim --list` shows all; a path to a .toml file works too)");
  auto far = find_scenario("pop3-things");
  ASSERT_FALSE(far.ok());
  EXPECT_EQ(far.error().detail.find("did you mean"), std::string::npos) << far.error().detail;
  // Paths are read, and the error says why they could not be.
  auto missing = find_scenario("/nonexistent/dir/x.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().detail, "cannot read scenario file /nonexistent/dir/x.toml: No such file or directory");
  auto dir = find_scenario("/");
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.error().detail, "cannot read scenario file /: Is a directory");
}

TEST(SimArgs, WarnedSeedJsonCountsKinds) {
  RunReport r;
  r.seed = 5;
  r.warnings = {{"refused-but-delivered", "a"}, {"duplicate", "b"}, {"refused-but-delivered", "c"}};
  EXPECT_EQ(warned_seed_json(r, "cloudsdial sim --seed 0x5"),
            R"({"seed":5,"kinds":{"duplicate":1,"refused-but-delivered":2},"replay":"cloudsdial sim --seed 0x5"})");
}

}  // namespace
}  // namespace mail::sim
