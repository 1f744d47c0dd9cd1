// parse_duration / parse_size (see units.h). One grammar: digits, optional spaces, a unit
// from a fixed table; both the digits and the unit multiplication are checked for overflow.
#include "core/units.h"

#include <array>
#include <limits>
#include <string>
#include <utility>

#include "core/ascii.h"

namespace mail {
namespace {

struct Unit {
  std::string_view name;
  std::uint64_t factor;
};

// The "" entry is the unit of a bare number.
constexpr std::array<Unit, 8> kDurationUnits{{
    {"", 1'000'000},  // seconds
    {"us", 1},
    {"ms", 1'000},
    {"s", 1'000'000},
    {"m", 60'000'000},
    {"min", 60'000'000},
    {"h", 3'600'000'000},
    {"d", 86'400'000'000},  // queue lifetimes: "5d"
}};
constexpr std::string_view kDurationUnitNames = "us, ms, s, m, min, h, d";

constexpr std::array<Unit, 12> kSizeUnits{{
    {"", 1},
    {"B", 1},
    {"k", 1ull << 10},
    {"K", 1ull << 10},
    {"KB", 1ull << 10},
    {"KiB", 1ull << 10},
    {"M", 1ull << 20},
    {"MB", 1ull << 20},
    {"MiB", 1ull << 20},
    {"G", 1ull << 30},
    {"GB", 1ull << 30},
    {"GiB", 1ull << 30},
}};
constexpr std::string_view kSizeUnitNames = "B, k, K, KB, KiB, M, MB, MiB, G, GB, GiB";

// number * unit, with `what` naming the kind in errors. `max` bounds the product.
template <std::size_t N>
Result<std::uint64_t> parse_scaled(std::string_view text, const std::array<Unit, N>& units,
                                   std::string_view unit_names, std::string_view what, std::uint64_t max) {
  const auto quoted = [&] {
    // Appended in place: `"\"" + std::string(text)` prepends, which GCC 12 at -O2 reports
    // as an overlapping memcpy (-Wrestrict, GCC bug 105329).
    std::string q;
    q.reserve(text.size() + 2);
    q.push_back('"');
    q.append(text);
    q.push_back('"');
    return q;
  };
  if (text.empty()) return fail(Errc::invalid, "empty " + std::string(what));
  if (text.front() == '-') return fail(Errc::invalid, quoted() + ": a " + std::string(what) + " is never negative");
  std::size_t i = 0;
  std::uint64_t n = 0;
  bool too_large = false;
  for (; i < text.size() && is_digit(static_cast<unsigned char>(text[i])); ++i) {
    const auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) too_large = true;
    n = too_large ? 0 : n * 10 + digit;
  }
  if (i == 0) return fail(Errc::invalid, quoted() + ": not a " + std::string(what) + " (no leading digits)");
  std::string_view unit = text.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  for (const Unit& u : units) {
    if (u.name != unit) continue;
    if (too_large || n > max / u.factor) {
      return fail(Errc::invalid, quoted() + ": too large (the " + std::string(what) + " limit is " +
                                     std::to_string(max / u.factor) + std::string(unit) + ")");
    }
    return n * u.factor;
  }
  return fail(Errc::invalid,
              quoted() + ": unknown unit '" + std::string(unit) + "' (use " + std::string(unit_names) + ")");
}

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  constexpr auto max_us = static_cast<std::uint64_t>(std::numeric_limits<Duration::rep>::max());
  auto us = parse_scaled(text, kDurationUnits, kDurationUnitNames, "duration", max_us);
  if (!us) return fail(us.error());
  return Duration(static_cast<Duration::rep>(*us));
}

Result<std::uint64_t> parse_size(std::string_view text) {
  return parse_scaled(text, kSizeUnits, kSizeUnitNames, "size", std::numeric_limits<std::uint64_t>::max());
}

}  // namespace mail
