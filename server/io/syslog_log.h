// SyslogLog: rt::Log that hands each line to syslog(3) (openlog("cloudsdial", LOG_PID |
// LOG_NDELAY, LOG_MAIL)); journald receives it through /dev/log. syslog stamps its own
// time, so the message has none: "<text>" (CR, LF and NUL become spaces) in the text format, or the
// JSON object without "time" (format_json_line) in the JSON format. The level is the
// priority (syslog_priority), not part of the text. syslog(3) is thread-safe in glibc.
#pragma once

#include <atomic>

#include "io/stderr_log.h"
#include "runtime/env.h"

namespace mail::io {

// debug -> LOG_DEBUG, info -> LOG_INFO, warn -> LOG_WARNING, error -> LOG_ERR.
int syslog_priority(rt::LogLevel level) noexcept;

// The message syslog(3) gets for `text`, without timestamp or level.
std::string format_syslog_message(LogFormat format, rt::LogLevel level, std::string_view text);

class SyslogLog final : public rt::Log {
 public:
  // Calls openlog(): the ident, options and facility are process-wide. Never closelog(),
  // so a second SyslogLog (tests, an embedded server) is not cut off by the first's end.
  explicit SyslogLog(rt::LogLevel min_level = rt::LogLevel::info, LogFormat format = LogFormat::text);
  void write(rt::LogLevel level, std::string_view line) override;  // thread-safe

 private:
  std::atomic<rt::LogLevel> min_level_;
  LogFormat format_;
};

}  // namespace mail::io
