// parse_number / parse_seed_range / nearest_name (see sim_args.h). std::from_chars does the
// digits, so overflow is its result_out_of_range and never a wrapped value.
#include "sim_args.h"

#include <algorithm>
#include <charconv>
#include <system_error>

#include "core/ascii.h"

namespace mail::sim {

namespace {

// "'text'", built by appending: `"'" + s` trips GCC 12's -Wrestrict false positive (PR 105329).
std::string quoted(std::string_view text) {
  std::string q;
  q.reserve(text.size() + 2);
  q += '\'';
  q += text;
  q += '\'';
  return q;
}

std::string hex_text(std::uint64_t v) {
  char buf[24] = "0x";
  const auto r = std::to_chars(buf + 2, buf + sizeof buf, v, 16);
  return std::string(buf, r.ptr);
}

}  // namespace

Result<std::uint64_t> parse_number(std::string_view text, std::uint64_t min, std::uint64_t max) {
  if (text.empty()) return fail(Errc::invalid, "an empty value is not a number");
  if (text.front() == '-') return fail(Errc::invalid, std::string(text) + " is negative");
  const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  const std::string_view digits = hex ? text.substr(2) : text;
  // Seeds print as 0x…; a bound is shown the way the value was written.
  const auto bound = [hex](std::uint64_t b) { return hex ? hex_text(b) : std::to_string(b); };
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, hex ? 16 : 10);
  if (ec == std::errc::result_out_of_range && end == digits.data() + digits.size()) {
    return fail(Errc::invalid, std::string(text) + " is larger than " + bound(UINT64_MAX));
  }
  // from_chars also stops at a sign, a space or a fraction: all of `digits` must be used.
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return fail(Errc::invalid, quoted(text) + " is not a number (decimal, or hex with 0x)");
  }
  if (v > max) return fail(Errc::invalid, std::string(text) + " is larger than " + bound(max));
  if (v < min) return fail(Errc::invalid, std::string(text) + " is smaller than " + bound(min));
  return v;
}

Result<SeedRange> parse_seed_range(std::string_view text) {
  const std::size_t dots = text.find("..");
  if (dots == std::string_view::npos) {
    return fail(Errc::invalid, quoted(text) + " is not a seed range (A..B, e.g. 1..100)");
  }
  const std::string range = quoted(text);
  auto first = parse_number(text.substr(0, dots));
  if (!first) return fail(Errc::invalid, range + ": A: " + first.error().detail);
  auto last = parse_number(text.substr(dots + 2));
  if (!last) return fail(Errc::invalid, range + ": B: " + last.error().detail);
  if (*first > *last) return fail(Errc::invalid, range + ": A must be <= B");
  // last - first cannot overflow (last >= first); + 1 could, so compare before adding.
  if (*last - *first >= kSweepRunsMax) {
    return fail(Errc::invalid, range + " is more than " + std::to_string(kSweepRunsMax) +
                                   " runs; split the sweep into several ranges");
  }
  return SeedRange{*first, *last};
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // One row of the Wagner-Fischer table; row[j] = distance(a[0..i), b[0..j)).
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const bool same = ascii_lower(a[i - 1]) == ascii_lower(b[j - 1]);
      row[j] = std::min({above + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::optional<std::string> nearest_name(std::string_view text, const std::vector<std::string>& candidates) {
  if (text.empty()) return std::nullopt;
  const std::size_t limit = std::max<std::size_t>(2, text.size() / 3);
  const std::string* best = nullptr;
  std::size_t best_distance = limit + 1;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(text, c);
    if (d < best_distance) {
      best = &c;
      best_distance = d;
    }
  }
  if (best != nullptr) return *best;
  // "crash" for "smtp-crash": too many edits away, but plainly a part of the one name.
  const std::string folded = ascii_lower(text);
  const std::string* containing = nullptr;
  for (const auto& c : candidates) {
    if (ascii_lower(c).find(folded) == std::string::npos) continue;
    if (containing != nullptr) return std::nullopt;  // ambiguous: "smtp" is in every name
    containing = &c;
  }
  if (containing != nullptr) return *containing;
  return std::nullopt;
}

}  // namespace mail::sim
