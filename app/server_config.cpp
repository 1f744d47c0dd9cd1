// AppConfig -> node::MailServerConfig: the translation `serve` and the Python embedded
// server share, so both run the same assembly from the same file. No toml++ here.
#include "app/config.h"

#include "core/assert.h"

namespace mail::app {

node::MailServerConfig AppConfig::server_config() const {
  node::MailServerConfig c;
  c.data_dir = data_dir;
  c.directory = directory;
  c.smtp = smtp;
  c.users_path = users_path();
  return c;
}

rt::LogLevel parse_log_level(std::string_view name) {
  if (name == "debug") return rt::LogLevel::debug;
  if (name == "info") return rt::LogLevel::info;
  if (name == "warn") return rt::LogLevel::warn;
  MAIL_ASSERT(name == "error");
  return rt::LogLevel::error;
}

}  // namespace mail::app
