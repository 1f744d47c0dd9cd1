// StderrLog: rt::Log that writes each call as one line — "<UTC timestamp> <level> <text>"
// — with a single write(2), so lines from several threads never interleave (pipes keep
// writes up to PIPE_BUF atomic). CR and LF inside the text become spaces: peer data in a
// log line cannot forge another line.
#pragma once

#include <atomic>

#include "runtime/env.h"

namespace mail::io {

class StderrLog final : public rt::Log {
 public:
  explicit StderrLog(rt::LogLevel min_level = rt::LogLevel::info, int fd = 2) : min_level_(min_level), fd_(fd) {}
  void write(rt::LogLevel level, std::string_view line) override;  // thread-safe
  void set_min_level(rt::LogLevel level) noexcept { min_level_.store(level); }

 private:
  std::atomic<rt::LogLevel> min_level_;
  int fd_;
};

// "2026-11-26T10:33:52.123456Z" (RFC 3339, UTC, microseconds).
std::string format_utc(WallTime t);

}  // namespace mail::io
