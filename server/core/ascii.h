// ASCII character classes and case folding, shared by every layer: ALPHA / DIGIT / HEXDIG /
// WSP of RFC 5234 Appendix B.1 and ASCII-only case folding (RFC 5321 §2.4 keywords and
// domains, RFC 4422 mechanism names, user names). Octets >= 0x80 are in no class and never
// fold, and nothing here depends on the C locale (unlike <cctype>).
// Header-only and constexpr. Protocol grammar classes (atext, qtext, ...) stay in proto/.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mail {

constexpr bool is_blank(unsigned char c) noexcept { return c == ' ' || c == '\t'; }  // RFC 5234 WSP
constexpr bool is_alpha(unsigned char c) noexcept { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
constexpr bool is_digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_hex(unsigned char c) noexcept {
  return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

constexpr char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr char ascii_upper(char c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// A copy of `s` with A-Z folded to a-z (or a-z to A-Z); every other octet unchanged.
inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}
inline std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_upper(c);
  return out;
}

// ASCII case-insensitive equality (RFC 5321 §2.4 verbs, keywords; RFC 5234 §2.3 strings).
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_upper(a[i]) != ascii_upper(b[i])) return false;
  return true;
}

// True when `s` begins with `prefix`, compared ASCII case-insensitively.
constexpr bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

}  // namespace mail
