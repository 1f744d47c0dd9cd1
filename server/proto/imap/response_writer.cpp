// IMAP response syntax writers (see response_writer.h). The civil-date conversions use
// Howard Hinnant's days_from_civil algorithm (proleptic Gregorian calendar).
#include "proto/imap/response_writer.h"

#include <charconv>

#include <algorithm>
#include <array>

#include "core/assert.h"

namespace mail::imap {
namespace {

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool quotable(std::string_view s, bool utf8) noexcept {
  if (s.size() > kQuotedBytesMax) return false;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u == 0 || u == '\r' || u == '\n') return false;
    if (u >= 0x80 && !utf8) return false;
  }
  return true;
}

constexpr bool is_astring_char(unsigned char c) noexcept {
  return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' && c != '%' && c != '*' && c != '"' && c != '\\';
}

void append2(std::string& out, unsigned v, char pad = '0') {
  MAIL_ASSERT(v < 100);
  out.push_back(v < 10 ? pad : static_cast<char>('0' + v / 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

void append_range(std::string& out, std::uint32_t lo, std::uint32_t hi) {
  append_number(out, lo);
  if (hi != lo) {
    out.push_back(':');
    append_number(out, hi);
  }
}

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

void append_string(std::string& out, std::string_view s, bool utf8) {
  if (quotable(s, utf8)) {
    out.push_back('"');
    for (const char c : s) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
    return;
  }
  // A literal may not hold NUL (RFC 9051 §4.3): NULs are dropped (BINARY uses literal8).
  const auto nuls = static_cast<std::size_t>(std::count(s.begin(), s.end(), '\0'));
  out.push_back('{');
  append_number(out, s.size() - nuls);
  out.append("}\r\n");
  if (nuls == 0) {
    out.append(s);
  } else {
    for (const char c : s)
      if (c != '\0') out.push_back(c);
  }
}

bool quotable_string(std::string_view s, bool utf8) noexcept { return quotable(s, utf8); }

void append_nstring(std::string& out, const std::optional<std::string>& s, bool utf8) {
  if (!s) {
    out.append("NIL");
    return;
  }
  append_string(out, *s, utf8);
}

void append_nstring(std::string& out, const std::optional<std::string_view>& s, bool utf8) {
  if (!s) {
    out.append("NIL");
    return;
  }
  append_string(out, *s, utf8);
}

void append_astring(std::string& out, std::string_view s, bool utf8) {
  bool atom = !s.empty() && s.size() <= kQuotedBytesMax && !(s.size() == 3 && (s[0] == 'N' || s[0] == 'n') &&
                                                           (s[1] == 'I' || s[1] == 'i') && (s[2] == 'L' || s[2] == 'l'));
  for (std::size_t i = 0; atom && i < s.size(); ++i) atom = is_astring_char(static_cast<unsigned char>(s[i]));
  if (atom) out.append(s);
  else append_string(out, s, utf8);
}

void append_binary(std::string& out, std::string_view s) {
  if (s.find('\0') == std::string_view::npos) {
    out.push_back('{');
  } else {
    out.append("~{");
  }
  append_number(out, s.size());
  out.append("}\r\n");
  out.append(s);
}

void append_number(std::string& out, std::uint64_t n) {
  char buf[20];
  const auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

void append_flag_list(std::string& out, std::span<const std::string> flags) {
  out.push_back('(');
  for (std::size_t i = 0; i < flags.size(); ++i) {
    MAIL_ASSERT(!flags[i].empty());
    if (i > 0) out.push_back(' ');
    out.append(flags[i]);
  }
  out.push_back(')');
}

void append_sequence_set(std::string& out, std::span<const std::uint32_t> sorted) {
  std::size_t i = 0;
  bool first = true;
  while (i < sorted.size()) {
    std::size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) ++j;
    MAIL_ASSERT(sorted[i] != 0);
    MAIL_ASSERT(j + 1 >= sorted.size() || sorted[j + 1] > sorted[j]);
    if (!first) out.push_back(',');
    first = false;
    append_range(out, sorted[i], sorted[j]);
    i = j + 1;
  }
}

void append_ranges(std::string& out, std::span<const UidRange> ranges) {
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    MAIL_ASSERT(ranges[i].lo >= 1);
    MAIL_ASSERT(ranges[i].lo <= ranges[i].hi);
    if (i > 0) out.push_back(',');
    append_range(out, ranges[i].lo, ranges[i].hi);
  }
}

void append_sequence_set(std::string& out, const SequenceSet& set) {
  if (set.saved) {
    out.push_back('$');
    return;
  }
  for (std::size_t i = 0; i < set.ranges.size(); ++i) {
    if (i > 0) out.push_back(',');
    const SeqRange& r = set.ranges[i];
    const auto num = [&](std::uint32_t v) {
      if (v == kStar) out.push_back('*');
      else append_number(out, v);
    };
    num(r.lo);
    if (r.hi != r.lo) {
      out.push_back(':');
      num(r.hi);
    }
  }
}

void append_date(std::string& out, const Date& d) {
  MAIL_ASSERT(d.month >= 1);
  MAIL_ASSERT(d.month <= 12);
  append_number(out, d.day);
  out.push_back('-');
  out.append(kMonths[d.month - 1]);
  out.push_back('-');
  append_number(out, d.year);
}

void append_date_time(std::string& out, const DateTime& dt) {
  MAIL_ASSERT(dt.date.month >= 1);
  MAIL_ASSERT(dt.date.month <= 12);
  MAIL_ASSERT(dt.date.year <= 9999);
  out.push_back('"');
  append2(out, dt.date.day, ' ');
  out.push_back('-');
  out.append(kMonths[dt.date.month - 1]);
  out.push_back('-');
  const unsigned y = dt.date.year;
  append2(out, y / 100);
  append2(out, y % 100);
  out.push_back(' ');
  append2(out, dt.hour);
  out.push_back(':');
  append2(out, dt.minute);
  out.push_back(':');
  append2(out, dt.second);
  out.push_back(' ');
  const int z = dt.zone_minutes;
  out.push_back(z < 0 ? '-' : '+');
  const unsigned az = static_cast<unsigned>(z < 0 ? -z : z);
  append2(out, az / 60);
  append2(out, az % 60);
  out.push_back('"');
}

DateTime date_time_from_unix(std::int64_t seconds, std::int16_t zone_minutes) {
  const std::int64_t local = seconds + std::int64_t{zone_minutes} * 60;
  std::int64_t days = local / 86400;
  std::int64_t rem = local % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // civil_from_days
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  DateTime dt;
  dt.date = Date{static_cast<std::uint16_t>(y + (m <= 2)), static_cast<std::uint8_t>(m), static_cast<std::uint8_t>(d)};
  dt.hour = static_cast<std::uint8_t>(rem / 3600);
  dt.minute = static_cast<std::uint8_t>(rem / 60 % 60);
  dt.second = static_cast<std::uint8_t>(rem % 60);
  dt.zone_minutes = zone_minutes;
  return dt;
}

std::int64_t to_unix(const DateTime& dt) noexcept {
  const std::int64_t days = days_from_civil(dt.date.year, dt.date.month, dt.date.day);
  return days * 86400 + dt.hour * 3600 + dt.minute * 60 + dt.second - std::int64_t{dt.zone_minutes} * 60;
}

}  // namespace mail::imap
