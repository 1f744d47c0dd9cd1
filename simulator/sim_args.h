// Values people type on the `cloudsdial sim` and `cloudsdial conformance` command lines:
// checked unsigned numbers, seed ranges, and the nearest known name for a typo. Pure
// functions: no I/O, no locale, no exceptions. Each error's detail says what is wrong with
// the text (empty, negative, not a number, too large) without the option's name, which the
// caller puts in front: "--seed: " + detail.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace mail::sim {

// Decimal digits, or hex after "0x"/"0X" (seeds print as 0x…, so they paste back). No sign,
// no spaces. Errc::invalid when `text` is empty, negative, not a number, or outside
// [min, max]; the detail names the value and the bound, e.g.
// "99999999999999999999999 is larger than 18446744073709551615".
Result<std::uint64_t> parse_number(std::string_view text, std::uint64_t min = 0,
                                   std::uint64_t max = UINT64_MAX);

struct SeedRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
};

// At most this many runs in one sweep: the sweep keeps one report per seed.
inline constexpr std::uint64_t kSweepRunsMax = 10'000'000;

// "A..B" with A <= B, each a parse_number, and at most kSweepRunsMax seeds. Errc::invalid
// naming the part at fault: "'abc' is not a seed range (A..B, e.g. 1..100)",
// "'5..2': A must be <= B", "'x..5': A: 'x' is not a number ...".
Result<SeedRange> parse_seed_range(std::string_view text);

// Levenshtein distance over ASCII-case-folded bytes (insert, delete, substitute cost 1).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate `text` was most likely meant to be: the nearest by edit_distance when it is
// at most max(2, |text| / 3) edits away, else the one candidate that contains `text`
// (case-insensitively). Ties go to the earlier candidate. nullopt when nothing is close
// (or `text` is empty), so callers can say "did you mean" only when it helps.
std::optional<std::string> nearest_name(std::string_view text, const std::vector<std::string>& candidates);

}  // namespace mail::sim
