// Maildir unique names: formatting and the size-hint parser (see maildir_name.h).
// Pure string work; no clock, no randomness of its own.
#include "store/maildir_name.h"

#include "core/assert.h"

namespace mail::store {

bool is_plain_file_name(std::string_view s) noexcept {
  if (s.empty() || s.size() > 255) return false;
  if (s.front() == '.') return false;
  return s.find('/') == std::string_view::npos && s.find('\0') == std::string_view::npos;
}

std::string maildir_safe_host(std::string_view host) {
  if (host.empty()) return "localhost";
  std::string out;
  out.reserve(host.size());
  for (char c : host) {
    switch (c) {
      case '/': out += "\\057"; break;
      case ':': out += "\\072"; break;
      case ',': out += "\\054"; break;
      default: out.push_back(c); break;
    }
  }
  // What the name's grammar needs of the host part: no '/' (a path), no ':' (the ":2,"
  // info), no ',' (the ",S=" field).
  MAIL_ASSERT(!out.empty());
  MAIL_ASSERT(out.find('/') == std::string::npos);
  MAIL_ASSERT(out.find(':') == std::string::npos);
  MAIL_ASSERT(out.find(',') == std::string::npos);
  return out;
}

std::string format_maildir_name(WallTime now, std::uint64_t random, std::uint64_t counter, std::string_view safe_host,
                                std::uint64_t size_bytes) {
  MAIL_ASSERT(!safe_host.empty());
  MAIL_ASSERT(safe_host.find_first_of("/:,") == std::string_view::npos);
  // A wall clock before 1970 would give negative parts; clamp rather than print a '-'.
  const std::int64_t us = now.unix_us < 0 ? 0 : now.unix_us;
  static constexpr char hex[] = "0123456789abcdef";
  char rand_hex[16];
  for (int i = 15; i >= 0; --i) {
    rand_hex[i] = hex[random & 0xfu];
    random >>= 4;
  }
  std::string out;
  out.reserve(64 + safe_host.size());
  out += std::to_string(us / 1'000'000);
  out += ".M";
  out += std::to_string(us % 1'000'000);
  out += 'R';
  out.append(rand_hex, sizeof rand_hex);
  out += 'Q';
  out += std::to_string(counter);
  out += '.';
  out += safe_host;
  out += ",S=";
  out += std::to_string(size_bytes);
  // One path component without ":2," info (its length is the file system's to refuse: a
  // long host name is configuration, not a bug), whose size hint reads back what was written.
  MAIL_ASSERT(out.front() != '.');
  MAIL_ASSERT(out.find('/') == std::string::npos);
  MAIL_ASSERT(out.find(':') == std::string::npos);
  MAIL_ASSERT(maildir_size_hint(out) == size_bytes);
  return out;
}

std::optional<std::uint64_t> maildir_size_hint(std::string_view name) noexcept {
  if (const auto info = name.find(":2,"); info != std::string_view::npos) name = name.substr(0, info);
  const auto pos = name.rfind(",S=");
  if (pos == std::string_view::npos) return std::nullopt;
  std::string_view digits = name.substr(pos + 3);
  if (const auto comma = digits.find(','); comma != std::string_view::npos) digits = digits.substr(0, comma);
  // Up to 20 digits: every std::uint64_t the formatter can write reads back (found by
  // fuzz/maildir_name: a 20-digit size asserted in format_maildir_name); beyond is refused.
  if (digits.empty() || digits.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;  // would wrap
    v = v * 10 + d;
  }
  return v;
}

}  // namespace mail::store
