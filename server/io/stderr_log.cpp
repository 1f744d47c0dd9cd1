// StderrLog: format the whole line first, then one write(2) (continued only if the kernel
// takes part of it, which a pipe or terminal does not do for short lines).
#include "io/stderr_log.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

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

namespace {
std::string_view level_name(rt::LogLevel l) {
  switch (l) {
    case rt::LogLevel::debug: return "debug";
    case rt::LogLevel::info: return "info ";
    case rt::LogLevel::warn: return "warn ";
    case rt::LogLevel::error: return "error";
  }
  return "?    ";
}
}  // namespace

void StderrLog::write(rt::LogLevel level, std::string_view line) {
  if (level < min_level_.load()) return;
  const auto since = std::chrono::system_clock::now().time_since_epoch();
  std::string out = format_utc(WallTime{std::chrono::duration_cast<std::chrono::microseconds>(since).count()});
  out += ' ';
  out += level_name(level);
  out += ' ';
  const std::size_t text_at = out.size();
  out += line;
  for (std::size_t i = text_at; i < out.size(); ++i) {
    if (out[i] == '\n' || out[i] == '\r') out[i] = ' ';
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
