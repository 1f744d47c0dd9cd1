// StderrLog: format the whole line first, then one write(2) (continued only if the kernel
// takes part of it, which a pipe or terminal does not do for short lines).
#include "io/stderr_log.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include "core/assert.h"
#include "io/syslog_log.h"

namespace mail::io {

std::string format_utc(WallTime t) {
  std::int64_t secs = t.unix_us / 1'000'000;
  std::int64_t micros = t.unix_us % 1'000'000;
  if (micros < 0) {
    micros += 1'000'000;
    secs -= 1;
  }
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(micros));
  return buf;
}

std::string_view log_level_name(rt::LogLevel level) noexcept {
  switch (level) {
    case rt::LogLevel::debug: return "debug";
    case rt::LogLevel::info: return "info";
    case rt::LogLevel::warn: return "warn";
    case rt::LogLevel::error: return "error";
  }
  return "?";
}

std::string format_text_line(WallTime t, rt::LogLevel level, std::string_view text) {
  std::string out = format_utc(t);
  out += ' ';
  const std::string_view name = log_level_name(level);
  out += name;
  out.append(6 - std::min<std::size_t>(name.size(), 5), ' ');  // "info  ", "error "
  const std::size_t text_at = out.size();
  out += text;
  for (std::size_t i = text_at; i < out.size(); ++i) {
    if (out[i] == '\n' || out[i] == '\r') out[i] = ' ';
  }
  return out;
}

std::string format_journal_line(rt::LogLevel level, std::string_view text) {
  std::string out{'<', static_cast<char>('0' + syslog_priority(level)), '>'};  // LOG_ERR = 3 ... LOG_DEBUG = 7
  out += text;
  std::replace_if(out.begin() + 3, out.end(), [](char c) { return c == '\n' || c == '\r' || c == '\0'; }, ' ');
  return out;
}

std::optional<LogPrefix> parse_log_prefix(std::string_view text) noexcept {
  constexpr std::size_t kNameMax = 32;
  constexpr std::size_t kDigitsMax = 15;  // 10^15 - 1 < 2^53
  auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::size_t i = 0;
  if (text.empty() || !lower(text[0])) return std::nullopt;
  while (i < text.size() && i < kNameMax && (lower(text[i]) || digit(text[i]) || text[i] == '_' || text[i] == '-')) ++i;
  const std::string_view name = text.substr(0, i);
  if (i >= text.size() || text[i] != '[') return std::nullopt;
  const std::size_t digits_at = ++i;
  std::uint64_t id = 0;
  while (i < text.size() && digit(text[i]) && i - digits_at < kDigitsMax) {
    id = id * 10 + static_cast<std::uint64_t>(text[i] - '0');
    ++i;
  }
  if (i == digits_at || text.substr(i, 3) != "]: ") return std::nullopt;
  MAIL_ASSERT(id < (std::uint64_t{1} << 53));
  return LogPrefix{name, id};
}

namespace {

// Length of the valid UTF-8 sequence at s[i] (Unicode Table 3-7), 0 if there is none.
std::size_t utf8_sequence_at(std::string_view s, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // UTF-16 surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // ASCII is handled by the caller; 80..C1 and F5..FF never start a sequence
  }
  if (i + len > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return len;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else if (const std::size_t len = utf8_sequence_at(s, i); len > 0) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\\ufffd";
      ++i;
    }
  }
  out += '"';
}

std::string format_json_line(std::optional<WallTime> t, rt::LogLevel level, std::string_view text) {
  std::string out;
  out.reserve(text.size() + 96);
  out += '{';
  if (t) {
    out += "\"time\":\"";
    out += format_utc(*t);
    out += "\",";
  }
  out += "\"level\":\"";
  out += log_level_name(level);
  out += "\",\"message\":";
  append_json_string(out, text);
  if (const auto prefix = parse_log_prefix(text)) {
    out += ",\"service\":\"";
    out += prefix->service;  // [a-z0-9_-]: nothing to escape
    out += "\",\"connection\":";
    out += std::to_string(prefix->connection);
  }
  out += '}';
  return out;
}

void StderrLog::write(rt::LogLevel level, std::string_view line) {
  if (level < min_level_.load()) return;
  const auto since = std::chrono::system_clock::now().time_since_epoch();
  const WallTime now{std::chrono::duration_cast<std::chrono::microseconds>(since).count()};
  std::string out;
  switch (format_) {
    case LogFormat::text: out = format_text_line(now, level, line); break;
    case LogFormat::json: out = format_json_line(now, level, line); break;
    case LogFormat::journal: out = format_journal_line(level, line); break;
  }
  out += '\n';
  const char* p = out.data();
  std::size_t left = out.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere left to report a failing log
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace mail::io
