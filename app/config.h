// cloudsdial configuration: the TOML file format, its embedded default and validation.
// Parsing lives in config.cpp, the only translation unit that includes toml++ (slow to
// compile). This header must stay free of toml++ and Asio. Errors are values that name
// the file, the line and the key.
#pragma once

#include <map>
#include <string>
#include <vector>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "node/mail_server.h"
#include "node/smtp_server.h"
#include "runtime/env.h"
#include "store/directory.h"

namespace mail::app {

// [tls]: the certificate for STARTTLS and implicit TLS. Empty files: a self-signed
// certificate is generated under <data_dir>/tls on first start (and the server says so).
struct TlsFilesConfig {
  bool enabled = true;
  std::string cert_file;  // PEM chain, leaf first
  std::string key_file;   // PEM private key
};

// [dns]: where the resolver sends its queries (mapped onto io::PosixDnsConfig by serve).
// No servers: the system resolver (/etc/resolv.conf, /etc/hosts). With servers, every
// query — MX, TXT, A and AAAA — goes to exactly those, in order.
struct DnsConfig {
  std::vector<rt::Endpoint> servers;  // at most 3 (libresolv's MAXNS), IP literals, port != 0
  Duration timeout = 5s;              // per try and server; whole seconds, 1 s .. 60 s
  int attempts = 2;                   // tries per server, 1 .. 5
};

// The server's defaults where they differ from the protocol engine's (none today: DSN is
// advertised, the relay sends the reports it promises).
inline node::SmtpServerConfig app_smtp_defaults() { return node::SmtpServerConfig{}; }

// [relay], [[relay.routes]], [submission] and [queue]: who may relay, where mail goes, and
// the outbound queue's schedule and limits.
struct RelayAppConfig {
  bool outbound = true;                       // [relay] outbound: run the queue and deliver remote mail
  std::vector<std::string> trusted_networks;  // [relay] trusted_networks: CIDR list (empty: nobody)
  std::vector<node::StaticRoute> routes;      // [[relay.routes]]
  std::map<std::string, std::string> route_passwords;  // route domain -> password (auth_password_file)
  bool sender_must_match_login = true;        // [submission] sender_must_match_login
  bool add_missing_headers = true;            // [submission] add_missing_headers (Date:, Message-ID:)
  smtp::RetryPolicy retry;                    // [queue] first_retry, max_retry, lifetime, delay_warning
  std::size_t max_connections = 100;          // [queue] max_connections
  std::size_t per_destination = 20;           // [queue] per_destination
  Duration connect_timeout = 30s;             // [queue] connect_timeout
};

// [imap]: the IMAP service (absent section: no IMAP) and the mail store's quota.
struct ImapAppConfig {
  bool enabled = false;                  // the [imap] section is present
  std::vector<rt::Endpoint> listen;      // STARTTLS listeners (143)
  std::vector<rt::Endpoint> tls_listen;  // implicit TLS listeners (993)
  std::uint32_t max_connections = 10000;
  std::uint32_t max_connections_per_ip = 100;   // connections from one IP, logged in or not
  std::uint32_t max_sessions_per_user_ip = 10;  // Dovecot mail_max_userip_connections; 0 = no cap
  std::uint64_t append_limit = 35ull << 20;    // RFC 7889 APPENDLIMIT, as [smtp] message_size_max
  std::uint64_t quota_bytes = 0;                // RFC 9208 STORAGE per user; 0 = none
  std::uint64_t quota_messages = 0;             // RFC 9208 MESSAGE per user; 0 = none
  Duration login_timeout = 60s;
  Duration autologout = 30min;                  // RFC 9051 5.4: at least 30 minutes
  bool compress = true;        // offer COMPRESS=DEFLATE after login (RFC 4978); `false` turns it off
  bool literal_minus = false;  // advertise LITERAL- (non-sync literals <= 4096) instead of LITERAL+ (RFC 7888)
};

// [pop3]: the POP3 service (absent section: no POP3); the maildrop is the user's INBOX.
struct Pop3AppConfig {
  bool enabled = false;                  // the [pop3] section is present
  std::vector<rt::Endpoint> listen;      // STLS listeners (110)
  std::vector<rt::Endpoint> tls_listen;  // implicit TLS listeners (995)
  std::uint32_t max_connections = 10000;
  std::uint32_t max_connections_per_ip = 100;
  Duration login_timeout = 60s;
  Duration idle_timeout = 10min;  // RFC 1939 3: at least 10 minutes (lower only for tests)
};

// [http]: the HTTP service (absent section: no HTTP): GET /metrics and the admin API.
struct HttpAppConfig {
  bool enabled = false;                  // the [http] section is present
  std::vector<rt::Endpoint> listen;      // plain HTTP (127.0.0.1:8080 by default)
  std::vector<rt::Endpoint> tls_listen;  // HTTPS, implicit TLS with the mail ports' certificate
  std::uint32_t max_connections = 10000;
  std::uint32_t max_connections_per_ip = 100;
  std::uint64_t header_limit = 16 * 1024;        // request line + fields; beyond: 431
  std::uint64_t body_limit = 10 * 1024 * 1024;   // beyond: 413
  std::uint32_t max_requests_per_connection = 1000;
  Duration request_timeout = 30s;  // slow clients: the header, then each body piece, within it; else 408
  Duration idle_timeout = 60s;     // between requests
  // The admin REST API (/admin/api/): HTTP Basic with admin_user and the first line of
  // admin_password_file (read at load). Both unset: the API is off (404).
  std::string admin_user;
  std::string admin_password_file;
  std::string admin_password;  // read from admin_password_file; never written back out
  // Requests per second and burst per client IP (token bucket, RFC 6585 §4 429); 0 = off.
  std::uint32_t requests_per_second = 50;
  std::uint32_t request_burst = 100;
  bool rate_limit_loopback = false;  // loopback clients are exempt unless true
  // JMAP and the webmail's login take a password (HTTP Basic, POST /jmap/login) over plain
  // HTTP from a loopback client (as Dovecot treats localhost as secured); else only over HTTPS.
  bool plaintext_on_loopback = true;
};

struct AppConfig {
  std::string source;    // "embedded default" or the file path, for messages
  std::string hostname;  // [server] hostname; empty: the system host name
  std::string data_dir = "./var";
  std::string pid_file;  // empty: <data_dir>/cloudsdial.pid
  std::string log_level = "info";  // debug | info | warn | error
  std::string log_format = "text";  // text | json (io::LogFormat)
  std::string log_output = "stderr";  // stderr | syslog (io::LogOutput)
  Duration shutdown_timeout = 10s; // SIGTERM/SIGINT: graceful shutdown deadline
  // [server] user / group: started as root, `serve` binds its listeners, then runs as this
  // account for good (app/privileges.h). Empty: it runs as whoever started it. allow_root:
  // root without `user` is refused when a listener is not on loopback, unless this is true.
  std::string user;
  std::string group;  // empty: the user's primary group
  bool allow_root = false;
  node::SmtpServerConfig smtp = app_smtp_defaults();  // includes [auth] (session.auth.mechanisms, auth_guard, ...)
  store::DirectoryConfig directory;
  TlsFilesConfig tls;
  DnsConfig dns;
  std::string users_file;  // [auth] users_file; empty: <data_dir>/users
  RelayAppConfig relay;
  ImapAppConfig imap;
  Pop3AppConfig pop3;
  HttpAppConfig http;

  std::string pid_path() const { return pid_file.empty() ? data_dir + "/cloudsdial.pid" : pid_file; }
  std::string users_path() const { return users_file.empty() ? data_dir + "/users" : users_file; }
  std::string tls_dir() const { return data_dir + "/tls"; }
  // The one server assembly's configuration (node/mail_server.h): what `serve` and the
  // Python embedded server run. TLS is left out: the caller loads it (app/tls_setup.h).
  node::MailServerConfig server_config() const;
};

// "debug" | "info" | "warn" | "error" (parse_config() accepts nothing else).
rt::LogLevel parse_log_level(std::string_view name);

// The configuration compiled into the binary (used when no --config is given).
std::string_view default_config_text() noexcept;

// Parses and validates a configuration text. `source` names it in error messages
// ("FILE:LINE: key: problem"). Unknown keys, wrong types and bad values are errors.
Result<AppConfig> parse_config(std::string_view text, std::string_view source);

// Reads FILE and parses it (Errc::not_found / io when it cannot be read).
Result<AppConfig> load_config_file(const std::string& path);

// The effective configuration as TOML (for `cloudsdial check-config`).
std::string describe_config(const AppConfig& config);

}  // namespace mail::app
