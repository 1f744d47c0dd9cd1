// StderrLog: rt::Log that writes each call as one line with a single write(2), so lines
// from several threads never interleave (pipes keep writes up to PIPE_BUF atomic). Two
// formats (LogFormat):
//   text  "<UTC timestamp> <level> <text>"; CR and LF inside the text become spaces, so
//         peer data in a log line cannot forge another line;
//   json  one object per line, {"time":"...","level":"info","message":"..."} plus
//         "service" and "connection" when the text starts with "<name>[<id>]: " (see
//         format_json_line);
//   journal  "<N><text>": stderr is a systemd journal stream (JOURNAL_STREAM), which
//         stamps its own time and reads the sd-daemon(3) priority prefix (<3> error,
//         <4> warn, <6> info, <7> debug); CR and LF become spaces as in text.
// SyslogLog (io/syslog_log.h) sends the same texts to syslog(3) instead.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/env.h"

namespace mail::io {

enum class LogFormat : std::uint8_t { text, json, journal };

class StderrLog final : public rt::Log {
 public:
  explicit StderrLog(rt::LogLevel min_level = rt::LogLevel::info, int fd = 2, LogFormat format = LogFormat::text)
      : min_level_(min_level), fd_(fd), format_(format) {}
  void write(rt::LogLevel level, std::string_view line) override;  // thread-safe
  void set_min_level(rt::LogLevel level) noexcept { min_level_.store(level); }

 private:
  std::atomic<rt::LogLevel> min_level_;
  int fd_;
  LogFormat format_;
};

// "2026-11-26T10:33:52.123456Z" (RFC 3339, UTC, microseconds).
std::string format_utc(WallTime t);

// "debug", "info", "warn", "error" (unpadded).
std::string_view log_level_name(rt::LogLevel level) noexcept;

// "<timestamp> <level padded to 5> <text>" (no newline), CR/LF in the text replaced by
// spaces.
std::string format_text_line(WallTime t, rt::LogLevel level, std::string_view text);

// "<N><text>" (no newline): the sd-daemon(3) priority prefix (syslog severities: 3 error,
// 4 warn, 6 info, 7 debug), CR/LF in the text replaced by spaces.
std::string format_journal_line(rt::LogLevel level, std::string_view text);

// The "<name>[<id>]: " prefix of a log text ("smtp[12]: connect from ..."): name is a
// lower-case ASCII letter followed by up to 31 of [a-z0-9_-], id is 1 to 15 decimal digits
// (below 2^53, so every JSON reader gets the exact number).
struct LogPrefix {
  std::string_view service;
  std::uint64_t connection = 0;
};
std::optional<LogPrefix> parse_log_prefix(std::string_view text) noexcept;

// Appends `s` as a JSON string literal (with the quotes): '"' and '\' are escaped, control
// characters (U+0000..U+001F and DEL) become \u00XX, valid UTF-8 passes through
// unchanged, and every byte that is not part of a valid UTF-8 sequence (stray
// continuation bytes, truncated or overlong sequences, surrogates, above U+10FFFF)
// becomes \ufffd, the replacement character. The output is always valid UTF-8 and JSON.
void append_json_string(std::string& out, std::string_view s);

// One JSON object (no newline): {"time":"<format_utc>","level":"info","message":"<text>"}, then
// "service":"<name>","connection":<id> when parse_log_prefix(text) matches (the message
// keeps the prefix, so it reads the same as the text format). Without `t` (syslog, which
// stamps its own time) there is no "time" field.
std::string format_json_line(std::optional<WallTime> t, rt::LogLevel level, std::string_view text);

}  // namespace mail::io
