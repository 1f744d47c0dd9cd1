// SMTP command-line splitting and argument checks (RFC 5321 §4.1.1, §2.4; RFC 3030 §2).
// Pure functions over one line without CRLF; no I/O, no allocation, no exceptions.
#include "proto/smtp/command.h"

#include <limits>

#include "core/assert.h"
#include "proto/smtp/address.h"
#include "proto/smtp/chars.h"

namespace mail::smtp {

namespace {

std::string_view trim_blanks(std::string_view s) noexcept {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// The table is looked up by verb text; every verb must be upper case and unique so that
// the case-insensitive match is unambiguous.
constexpr bool table_well_formed() {
  for (std::size_t i = 0; i < kCommandTable.size(); ++i) {
    for (char c : kCommandTable[i].verb)
      if (c >= 'a' && c <= 'z') return false;
    for (std::size_t j = i + 1; j < kCommandTable.size(); ++j)
      if (kCommandTable[i].verb == kCommandTable[j].verb) return false;
    if (kCommandTable[i].allowed == 0) return false;
    if ((kCommandTable[i].allowed & ~kCommandStates) != 0) return false;
  }
  return true;
}
static_assert(table_well_formed());

}  // namespace

bool starts_with_nocase(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

Command parse_command(std::string_view line) noexcept {
  Command c;
  std::string_view rest = line;
  while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
  std::size_t end = 0;
  while (end < rest.size() && !is_blank(rest[end])) ++end;
  c.verb = rest.substr(0, end);
  c.arg = trim_blanks(rest.substr(end));
  for (const CommandSpec& spec : kCommandTable) {
    if (iequals(spec.verb, c.verb)) {
      c.spec = &spec;
      break;
    }
  }
  MAIL_ASSERT(c.verb.size() <= line.size());
  MAIL_ASSERT(c.arg.size() <= line.size());
  return c;
}

LineDefect line_defect(std::string_view line) noexcept {
  if (line.find('\0') != std::string_view::npos) return LineDefect::nul;
  if (trim_blanks(line).empty()) return LineDefect::empty;
  return LineDefect::none;
}

std::optional<BdatArgs> parse_bdat_args(std::string_view arg) noexcept {
  // The session hands over the argument with blanks trimmed at both ends; inside it we
  // require exactly the RFC 3030 grammar (one SP) but tolerate several blanks, as for
  // every other command.
  BdatArgs out;
  std::size_t i = 0;
  if (arg.empty()) return std::nullopt;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  while (i < arg.size() && is_digit(arg[i])) {
    const auto digit = static_cast<std::uint64_t>(arg[i] - '0');
    // Checked arithmetic (STYLE habit 3): refuse rather than wrap.
    if (out.size > (kMax - digit) / 10) return std::nullopt;
    out.size = out.size * 10 + digit;
    ++i;
  }
  if (i == 0) return std::nullopt;
  if (i == arg.size()) return out;
  if (!is_blank(arg[i])) return std::nullopt;
  const std::string_view marker = trim_blanks(arg.substr(i));
  if (!iequals(marker, "LAST")) return std::nullopt;
  out.last = true;
  return out;
}

bool is_acceptable_helo(std::string_view arg) noexcept {
  if (arg.empty() || arg.size() > 255) return false;
  if (is_valid_domain(arg, true) || is_valid_address_literal(arg)) return true;
  // Postfix accepts any single word by default (smtpd_helo_restrictions is empty); we
  // keep to printable ASCII without blanks so the name is safe in Received: and logs.
  for (char c : arg) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

}  // namespace mail::smtp
