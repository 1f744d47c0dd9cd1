// SyslogLog: the same texts as StderrLog, through syslog(3) with facility LOG_MAIL.
#include "io/syslog_log.h"

#include <syslog.h>

#include <string>

#include "core/assert.h"

namespace mail::io {

int syslog_priority(rt::LogLevel level) noexcept {
  switch (level) {
    case rt::LogLevel::debug: return LOG_DEBUG;
    case rt::LogLevel::info: return LOG_INFO;
    case rt::LogLevel::warn: return LOG_WARNING;
    case rt::LogLevel::error: return LOG_ERR;
  }
  return LOG_ERR;
}

std::string format_syslog_message(LogFormat format, rt::LogLevel level, std::string_view text) {
  MAIL_ASSERT(format != LogFormat::journal);  // journald reads syslog(3) itself
  if (format == LogFormat::json) return format_json_line(std::nullopt, level, text);
  std::string out(text);
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\0') c = ' ';  // NUL would end the C string
  }
  return out;
}

SyslogLog::SyslogLog(rt::LogLevel min_level, LogFormat format) : min_level_(min_level), format_(format) {
  ::openlog("cloudsdial", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void SyslogLog::write(rt::LogLevel level, std::string_view line) {
  if (level < min_level_.load()) return;
  const std::string message = format_syslog_message(format_, level, line);
  ::syslog(syslog_priority(level), "%s", message.c_str());
}

}  // namespace mail::io
