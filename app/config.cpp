// cloudsdial configuration loader: TOML (toml++) -> AppConfig, with the embedded default.
// The only translation unit that includes toml++ (slow to compile): keep it that way.
// Must not: accept unknown keys silently, throw past parse_config(), or touch Asio.
// Every error names "SOURCE:LINE: key: problem".
#include "app/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "core/ascii.h"
#include "core/ip_address.h"
#include "core/units.h"
#include "proto/smtp/address.h"
#include "store/user_name.h"

namespace mail::app {
namespace {

constexpr std::string_view kDefaultConfig = R"toml(# Cloudsdial Mail: the built-in default configuration (`cloudsdial help config`).
# A development setup: one local domain, one user, SMTP on loopback port 2525.
# Copy it, edit it, and start with: cloudsdial serve --config FILE

[server]
# hostname = "mx.example.test"  # default: the system host name
data_dir = "./var"              # mail lands in <data_dir>/mail/<user>/Maildir
# pid_file = "./var/cloudsdial.pid"  # default: <data_dir>/cloudsdial.pid
log_level = "info"              # debug | info | warn | error
# log_format = "text"           # text | json (one JSON object per line)
# log_output = "stderr"         # stderr | syslog (facility mail; journald reads it)
shutdown_timeout = "10s"        # SIGTERM/SIGINT: sessions get this long to finish
# user = "cloudsdial"           # started as root: bind the ports, then run as this user
# group = "cloudsdial"          # default: the user's primary group
# allow_root = false            # stay root with public listeners (refused unless true)

[smtp]
listen = ["127.0.0.1:2525"]     # "IP:PORT" or "[IPv6]:PORT"; port 0 = pick a free one
max_connections = 1000          # all clients together
max_connections_per_ip = 50     # Postfix smtpd_client_connection_count_limit
message_size_max = "35MiB"      # RFC 1870 SIZE; bytes, or a K/M/G(iB) suffix
recipients_max = 1000           # per transaction, at least 100 (RFC 5321 4.5.3.1.8)
hops_max = 50                   # Received: headers before "too many hops"
errors_max = 20                 # bad commands before 421 and close
greeting_timeout = "5min"       # RFC 5321 4.5.3.2 timeouts
command_timeout = "5min"
data_timeout = "3min"
reject_pipelined_data = true    # content sent before the 354 to DATA: 554 and close (RFC 2920 3.1)
submission_listen = ["127.0.0.1:5587"]    # RFC 6409 (587 in production): STARTTLS, AUTH before MAIL
submissions_listen = ["127.0.0.1:4465"]   # RFC 8314 (465 in production): implicit TLS, AUTH before MAIL
tls_handshake_timeout = "60s"
dsn = true                      # RFC 3461 DSN: NOTIFY/RET/ENVID/ORCPT honoured by the relay

[imap]
listen = ["127.0.0.1:1143"]     # IMAP4rev2/rev1 with STARTTLS (143 in production)
tls_listen = ["127.0.0.1:1993"] # implicit TLS, RFC 8314 (993 in production)
max_connections = 10000         # all clients together
max_connections_per_ip = 100
max_sessions_per_user_ip = 10   # logged-in sessions of one user from one IP (Dovecot mail_max_userip_connections)
append_limit = "35MiB"          # RFC 7889 APPENDLIMIT: larger APPENDs get NO [TOOBIG]
quota = "0"                     # per user (RFC 9208 STORAGE); 0 = no quota
quota_messages = 0              # per user (RFC 9208 MESSAGE); 0 = no limit
login_timeout = "60s"           # from the greeting to a successful login
autologout = "30min"            # an idle authenticated session (RFC 9051 5.4: at least 30min)

[pop3]
listen = ["127.0.0.1:1110"]     # POP3 with STLS (110 in production)
tls_listen = ["127.0.0.1:1995"] # implicit TLS, RFC 8314 (995 in production)
max_connections = 10000         # all clients together
max_connections_per_ip = 100
login_timeout = "60s"           # from the greeting to a successful login
idle_timeout = "10min"          # RFC 1939 3: the autologout timer is at least 10 minutes

[http]
listen = ["127.0.0.1:8080"]     # the webmail (/), JMAP, GET /metrics (Prometheus), the admin API
tls_listen = []                 # HTTPS with the mail ports' certificate, e.g. ["0.0.0.0:443"]
max_connections = 10000
max_connections_per_ip = 100
header_limit = "16KiB"          # request line + header fields; beyond: 431
body_limit = "10MiB"            # request body; beyond: 413
max_requests_per_connection = 1000
request_timeout = "30s"         # the header, then each body piece, within it; else 408
idle_timeout = "60s"            # an idle keep-alive connection is closed
requests_per_second = 50        # per client IP (token bucket); beyond: 429 with Retry-After; 0 = off
request_burst = 100             # requests a client IP may make at once before the rate applies
rate_limit_loopback = false     # loopback clients are not limited unless true
plaintext_on_loopback = true    # JMAP/webmail passwords over plain HTTP from 127.0.0.1/::1 (else HTTPS only)
# admin_user = "admin"          # the admin REST API (/admin/api/), HTTP Basic over TLS or loopback;
# admin_password_file = "/etc/cloudsdial/admin.pw"   # its first line is the password

[relay]
outbound = true                 # queue and deliver mail for other domains (MX, or the routes below)
trusted_networks = []           # CIDRs that may relay without AUTH; empty: only authenticated users
# [[relay.routes]]              # static routes, tried before MX; domain = "*" is a smarthost
# domain = "b.test"
# host = "127.0.0.1"
# port = 2626
# tls = "opportunistic"         # none | opportunistic | required
# auth_user = "relayuser"       # optional AUTH at the route's host
# auth_password_file = "/etc/cloudsdial/relay.pw"

[submission]
sender_must_match_login = true  # MAIL FROM of an authenticated user must be one of its addresses
add_missing_headers = true      # add Date: and Message-ID: when missing (RFC 6409 8.2, 8.3)

[queue]
first_retry = "5min"            # then doubling ...
max_retry = "1h"                # ... up to this interval
lifetime = "5d"                 # then bounce (RFC 5321 4.5.4.1: at least 4-5 days)
delay_warning = "4h"            # "delayed" DSN after this (0 = never)
max_connections = 100           # outbound SMTP connections in total
per_destination = 20            # per destination domain
connect_timeout = "30s"

[tls]
enabled = true                  # STARTTLS on every listener, and the submissions listeners
# cert = "/etc/cloudsdial/fullchain.pem"  # PEM chain, leaf first; reloaded on SIGHUP
# key = "/etc/cloudsdial/privkey.pem"     # default: a self-signed pair in <data_dir>/tls

[auth]
# users_file = "./var/users"    # default <data_dir>/users; edit with `cloudsdial user add NAME`
mechanisms = ["SCRAM-SHA-256", "PLAIN", "LOGIN"]  # PLAIN/LOGIN only under TLS
plaintext_on_loopback = false   # true: PLAIN/LOGIN without TLS from 127.0.0.1/::1 only
failure_delay = "1s"            # first failed AUTH from an IP; doubles per failure
failure_delay_max = "15s"
failure_window = "15min"        # failures counted over this window
ip_failures_max = 20            # then every AUTH from that IP is refused
user_failures_max = 10          # then that name cannot log in until the window passes

# [dns]                         # default: the system resolver (/etc/resolv.conf, /etc/hosts)
# servers = ["127.0.0.1:53"]    # "IP:PORT" or "[IPv6]:PORT", at most 3; every query goes there
# timeout = "5s"                # per try and server
# attempts = 2                  # tries per server

[domains]
local = ["example.test"]

[[users]]
name = "demo"
aliases = ["postmaster", "abuse"]
)toml";

// ---------------------------------------------------------------------------- helpers

class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source) {}

  bool failed() const noexcept { return error_.has_value(); }
  Error take_error() { return std::move(*error_); }

  void fail_at(const toml::source_region& where, std::string_view key, std::string_view problem) {
    if (error_) return;  // the first error is the useful one
    std::string text = source_;
    // Appended, not `":" + s`: prepending is GCC 12's bogus -Wrestrict at -O2 (bug 105329).
    if (where.begin.line > 0) text.append(":").append(std::to_string(where.begin.line));
    text += ": ";
    if (!key.empty()) text += std::string(key) + ": ";
    text += problem;
    error_ = Error{Errc::invalid, std::move(text)};
  }

  // Rejects keys not in `known`, naming the line of the first unknown key.
  void check_keys(const toml::table& table, std::string_view prefix, std::initializer_list<std::string_view> known) {
    for (const auto& [key, node] : table) {
      bool ok = false;
      for (auto k : known) ok = ok || key.str() == k;
      if (ok) continue;
      std::string list;
      for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      fail_at(key.source(), join(prefix, key.str()), "unknown key (known keys: " + list + ")");
      return;
    }
  }

  static std::string join(std::string_view prefix, std::string_view key) {
    return prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key);
  }

  void get_string(const toml::table& t, std::string_view prefix, std::string_view key, std::string& out) {
    const toml::node* n = t.get(key);
    if (!n) return;
    if (auto v = n->value<std::string>(); v && n->is_string()) {
      out = *v;
    } else {
      fail_at(n->source(), join(prefix, key), "must be a string");
    }
  }

  void get_bool(const toml::table& t, std::string_view prefix, std::string_view key, bool& out) {
    const toml::node* n = t.get(key);
    if (!n) return;
    if (n->is_boolean()) {
      out = *n->value<bool>();
    } else {
      fail_at(n->source(), join(prefix, key), "must be true or false");
    }
  }

  template <class Int>
  void get_int(const toml::table& t, std::string_view prefix, std::string_view key, std::int64_t min, std::int64_t max,
               Int& out) {
    const toml::node* n = t.get(key);
    if (!n) return;
    if (!n->is_integer()) {
      fail_at(n->source(), join(prefix, key), "must be an integer");
      return;
    }
    const std::int64_t v = *n->value<std::int64_t>();
    if (v < min || v > max) {
      fail_at(n->source(), join(prefix, key),
              "must be between " + std::to_string(min) + " and " + std::to_string(max) + " (got " + std::to_string(v) + ")");
      return;
    }
    out = static_cast<Int>(v);
  }

  // Bytes: an integer, or a string for parse_size (core/units.h): "35MiB", "10M", "512k".
  void get_size(const toml::table& t, std::string_view prefix, std::string_view key, std::uint64_t min,
                std::uint64_t max, std::uint64_t& out) {
    const toml::node* n = t.get(key);
    if (!n) return;
    std::uint64_t v = 0;
    if (n->is_integer()) {
      const std::int64_t i = *n->value<std::int64_t>();
      if (i < 0) {
        fail_at(n->source(), join(prefix, key), "must not be negative");
        return;
      }
      v = static_cast<std::uint64_t>(i);
    } else if (n->is_string()) {
      auto parsed = mail::parse_size(*n->value<std::string>());
      if (!parsed) {
        fail_at(n->source(), join(prefix, key),
                "must be bytes, e.g. 10485760 or \"10MiB\" (" + parsed.error().detail + ")");
        return;
      }
      v = *parsed;
    } else {
      fail_at(n->source(), join(prefix, key), "must be bytes, e.g. 10485760 or \"10MiB\"");
      return;
    }
    if (v < min || v > max) {
      fail_at(n->source(), join(prefix, key),
              "must be between " + std::to_string(min) + " and " + std::to_string(max) + " bytes");
      return;
    }
    out = v;
  }

  // Durations: an integer number of seconds, or a string for parse_duration (core/units.h):
  // "300ms", "10s", "5min", "1h".
  void get_duration(const toml::table& t, std::string_view prefix, std::string_view key, Duration min, Duration max,
                    Duration& out) {
    const toml::node* n = t.get(key);
    if (!n) return;
    std::optional<Duration> v;
    std::string why;
    if (n->is_integer()) {
      const std::int64_t s = *n->value<std::int64_t>();
      if (s >= 0 && s <= 100'000'000) v = std::chrono::seconds(s);
    } else if (n->is_string()) {
      auto parsed = mail::parse_duration(*n->value<std::string>());
      if (parsed) {
        v = *parsed;
      } else {
        why = " (" + parsed.error().detail + ")";
      }
    }
    if (!v) {
      fail_at(n->source(), join(prefix, key),
              "must be a duration such as \"300ms\", \"10s\", \"5min\" or \"1h\"" + why);
      return;
    }
    if (*v < min || *v > max) {
      fail_at(n->source(), join(prefix, key), "must be between " + format_duration(min) + " and " + format_duration(max));
      return;
    }
    out = *v;
  }

  // An array of strings; `present` tells whether the key was there.
  bool get_strings(const toml::table& t, std::string_view prefix, std::string_view key, std::vector<std::string>& out,
                   toml::source_region* where = nullptr) {
    const toml::node* n = t.get(key);
    if (!n) return false;
    if (where) *where = n->source();
    const toml::array* arr = n->as_array();
    if (!arr) {
      fail_at(n->source(), join(prefix, key), "must be an array of strings");
      return true;
    }
    out.clear();
    for (const toml::node& item : *arr) {
      if (!item.is_string()) {
        fail_at(item.source(), join(prefix, key), "must be an array of strings");
        return true;
      }
      out.push_back(*item.value<std::string>());
    }
    return true;
  }

  static std::string format_duration(Duration d) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    if (ms % 1000 != 0) return std::to_string(ms) + "ms";
    const auto s = ms / 1000;
    if (s != 0 && s % 3600 == 0) return std::to_string(s / 3600) + "h";
    if (s != 0 && s % 60 == 0) return std::to_string(s / 60) + "min";
    return std::to_string(s) + "s";
  }

 private:
  std::string source_;
  std::optional<Error> error_;
};

// "127.0.0.1:25", "[::1]:25" -> Endpoint; IP literals only (no name lookups at startup).
std::optional<rt::Endpoint> parse_endpoint(std::string_view s) {
  std::string host;
  std::string_view port_text;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return std::nullopt;
    host = std::string(s.substr(1, close - 1));
    port_text = s.substr(close + 2);
    in6_addr a6{};
    if (inet_pton(AF_INET6, host.c_str(), &a6) != 1) return std::nullopt;
  } else {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = std::string(s.substr(0, colon));
    port_text = s.substr(colon + 1);
    in_addr a4{};
    if (inet_pton(AF_INET, host.c_str(), &a4) != 1) return std::nullopt;
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port_text.empty() || port > 65535) {
    return std::nullopt;
  }
  return rt::Endpoint{host, static_cast<std::uint16_t>(port)};
}

// [server]: names, paths, logging, shutdown.
void read_server(Reader& r, const toml::table& root, AppConfig& cfg) {
  if (const toml::table* server = root["server"].as_table()) {
    r.check_keys(*server, "server",
                 {"hostname", "data_dir", "pid_file", "log_level", "log_format", "log_output", "shutdown_timeout", "user",
                  "group", "allow_root"});
    r.get_string(*server, "server", "hostname", cfg.hostname);
    r.get_string(*server, "server", "data_dir", cfg.data_dir);
    r.get_string(*server, "server", "pid_file", cfg.pid_file);
    r.get_string(*server, "server", "log_level", cfg.log_level);
    r.get_string(*server, "server", "log_format", cfg.log_format);
    r.get_string(*server, "server", "log_output", cfg.log_output);
    r.get_duration(*server, "server", "shutdown_timeout", 0s, 1h, cfg.shutdown_timeout);
    r.get_string(*server, "server", "user", cfg.user);
    r.get_string(*server, "server", "group", cfg.group);
    r.get_bool(*server, "server", "allow_root", cfg.allow_root);
    // Names as useradd(8) takes them (NAME_REGEX without the trailing '$'); the account itself
    // is looked up when `serve` starts, since the configuration may be checked elsewhere.
    auto account_name = [](std::string_view n) {
      if (n.empty() || n.size() > 32 || n[0] == '-') return false;
      return std::all_of(n.begin(), n.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
      });
    };
    if (server->contains("user") && !account_name(cfg.user)) {
      r.fail_at(server->get("user")->source(), "server.user", "must be a user name (letters, digits, '_', '-', '.')");
    }
    if (server->contains("group") && !account_name(cfg.group)) {
      r.fail_at(server->get("group")->source(), "server.group", "must be a group name (letters, digits, '_', '-', '.')");
    }
    if (!cfg.group.empty() && cfg.user.empty()) {
      r.fail_at(server->get("group")->source(), "server.group", "needs server.user");
    }
    if (!cfg.hostname.empty() && !smtp::is_valid_domain(cfg.hostname, false)) {
      r.fail_at(server->get("hostname")->source(), "server.hostname", "must be a domain name");
    }
    if (cfg.data_dir.empty()) r.fail_at(server->get("data_dir")->source(), "server.data_dir", "must not be empty");
    if (cfg.log_level != "debug" && cfg.log_level != "info" && cfg.log_level != "warn" && cfg.log_level != "error") {
      r.fail_at(server->get("log_level")->source(), "server.log_level", "must be one of debug, info, warn, error");
    }
    if (cfg.log_format != "text" && cfg.log_format != "json") {
      r.fail_at(server->get("log_format")->source(), "server.log_format", "must be text or json");
    }
    if (cfg.log_output != "stderr" && cfg.log_output != "syslog") {
      r.fail_at(server->get("log_output")->source(), "server.log_output", "must be stderr or syslog");
    }
  }
}

// [smtp] listen, submission_listen, submissions_listen: "IP:PORT" lists.
void read_smtp_listeners(Reader& r, const toml::table& t, AppConfig& cfg) {
  const std::pair<std::string_view, std::vector<rt::Endpoint>*> lists[] = {
      {"listen", &cfg.smtp.listen},
      {"submission_listen", &cfg.smtp.listen_submission},
      {"submissions_listen", &cfg.smtp.listen_submissions},
  };
  for (const auto& [key, out] : lists) {
    std::vector<std::string> listen;
    toml::source_region where;
    const std::string name = "smtp." + std::string(key);
    if (!r.get_strings(t, "smtp", key, listen, &where) || r.failed()) continue;
    if (listen.empty() && key == "listen") r.fail_at(where, name, "must name at least one endpoint");
    out->clear();
    for (std::size_t i = 0; i < listen.size(); ++i) {
      auto ep = parse_endpoint(listen[i]);
      if (!ep) {
        r.fail_at(where, name + "[" + std::to_string(i) + "]",
                  "'" + listen[i] + "' is not IP:PORT (e.g. \"127.0.0.1:25\" or \"[::1]:25\")");
        break;
      }
      out->push_back(*ep);
    }
  }
}

// [smtp]: listeners (default 127.0.0.1:2525), connection limits, RFC 5321 limits and timeouts, extensions.
void read_smtp(Reader& r, const toml::table& root, AppConfig& cfg) {
  auto& limits = cfg.smtp.session.limits;
  cfg.smtp.listen = {rt::Endpoint{"127.0.0.1", 2525}};
  if (const toml::table* smtp_table = root["smtp"].as_table()) {
    const toml::table& t = *smtp_table;
    r.check_keys(t, "smtp",
                 {"listen", "max_connections", "max_connections_per_ip", "message_size_max", "recipients_max", "hops_max",
                  "errors_max", "error_delay", "greeting_timeout", "command_timeout", "data_timeout", "write_timeout",
                  "pipelining", "chunking", "smtputf8", "eightbitmime", "binarymime", "dsn", "vrfy", "submission_listen",
                  "submissions_listen", "tls_handshake_timeout", "reject_pipelined_data"});
    read_smtp_listeners(r, t, cfg);
    r.get_duration(t, "smtp", "tls_handshake_timeout", 1s, 1h, cfg.smtp.tls_handshake_timeout);
    r.get_int(t, "smtp", "max_connections", 1, 1'000'000, cfg.smtp.connections.connections_max);
    r.get_int(t, "smtp", "max_connections_per_ip", 1, 1'000'000, cfg.smtp.connections.connections_per_ip_max);
    r.get_size(t, "smtp", "message_size_max", 64 * 1024, 1ull << 30, limits.message_bytes_max);
    r.get_int(t, "smtp", "recipients_max", 100, 100'000, limits.recipients_max);
    r.get_int(t, "smtp", "hops_max", 1, 1000, limits.hops_max);
    r.get_int(t, "smtp", "errors_max", 1, 1000, limits.errors_max);
    r.get_duration(t, "smtp", "error_delay", 0s, 60s, limits.error_delay);
    r.get_duration(t, "smtp", "greeting_timeout", 1s, 1h, limits.initial_idle_timeout);
    r.get_duration(t, "smtp", "command_timeout", 1s, 1h, limits.command_timeout);
    r.get_duration(t, "smtp", "data_timeout", 1s, 1h, limits.data_block_timeout);
    r.get_duration(t, "smtp", "write_timeout", 1s, 1h, cfg.smtp.write_timeout);
    auto& s = cfg.smtp.session;
    r.get_bool(t, "smtp", "pipelining", s.pipelining);
    r.get_bool(t, "smtp", "chunking", s.chunking);
    r.get_bool(t, "smtp", "smtputf8", s.smtputf8);
    r.get_bool(t, "smtp", "eightbitmime", s.eight_bit_mime);
    r.get_bool(t, "smtp", "binarymime", s.binary_mime);
    r.get_bool(t, "smtp", "dsn", s.dsn);
    r.get_bool(t, "smtp", "vrfy", s.vrfy_enabled);
    r.get_bool(t, "smtp", "reject_pipelined_data", s.reject_pipelined_data);
  }
}

// "IP:PORT" list at t[key] into `out` (named `section.key` in errors).
void read_endpoints(Reader& r, const toml::table& t, std::string_view section, std::string_view key,
                    std::vector<rt::Endpoint>& out) {
  std::vector<std::string> listen;
  toml::source_region where;
  std::string name(section);
  name.append(".").append(key);
  if (!r.get_strings(t, section, key, listen, &where) || r.failed()) return;
  out.clear();
  for (std::size_t i = 0; i < listen.size(); ++i) {
    auto ep = parse_endpoint(listen[i]);
    if (!ep) {
      r.fail_at(where, name + "[" + std::to_string(i) + "]",
                "'" + listen[i] + "' is not IP:PORT (e.g. \"127.0.0.1:143\" or \"[::1]:143\")");
      return;
    }
    out.push_back(*ep);
  }
}

// [imap]: present = IMAP served (RFC 9051), on the listeners given (defaults 127.0.0.1:1143
// with STARTTLS and 127.0.0.1:1993 with implicit TLS); limits, quota and timeouts.
void read_imap(Reader& r, const toml::table& root, AppConfig& cfg) {
  const toml::table* t = root["imap"].as_table();
  if (t == nullptr) return;
  auto& c = cfg.imap;
  c.enabled = true;
  c.listen = {rt::Endpoint{"127.0.0.1", 1143}};
  c.tls_listen = {rt::Endpoint{"127.0.0.1", 1993}};
  r.check_keys(*t, "imap", {"listen", "tls_listen", "max_connections", "max_connections_per_ip",
                            "max_sessions_per_user_ip", "append_limit", "quota", "quota_messages", "login_timeout",
                            "autologout", "compress", "literal_minus"});
  read_endpoints(r, *t, "imap", "listen", c.listen);
  read_endpoints(r, *t, "imap", "tls_listen", c.tls_listen);
  r.get_int(*t, "imap", "max_connections", 1, 1'000'000, c.max_connections);
  r.get_int(*t, "imap", "max_connections_per_ip", 1, 1'000'000, c.max_connections_per_ip);
  r.get_int(*t, "imap", "max_sessions_per_user_ip", 0, 1'000'000, c.max_sessions_per_user_ip);
  r.get_size(*t, "imap", "append_limit", 1024, 1ull << 31, c.append_limit);
  if (t->contains("quota")) r.get_size(*t, "imap", "quota", 0, 1ull << 50, c.quota_bytes);
  r.get_int(*t, "imap", "quota_messages", 0, 1'000'000'000, c.quota_messages);
  r.get_duration(*t, "imap", "login_timeout", 1s, 1h, c.login_timeout);
  r.get_duration(*t, "imap", "autologout", 30min, 24h, c.autologout);
  r.get_bool(*t, "imap", "compress", c.compress);
  r.get_bool(*t, "imap", "literal_minus", c.literal_minus);
  if (!r.failed() && c.listen.empty() && c.tls_listen.empty()) {
    r.fail_at(t->source(), "imap", "needs at least one of listen and tls_listen (leave [imap] out to serve no IMAP)");
  }
}

// [pop3]: present = POP3 served (RFC 1939), on the listeners given (defaults 127.0.0.1:1110
// with STLS and 127.0.0.1:1995 with implicit TLS); limits and timeouts. idle_timeout may go
// below RFC 1939 §3's 10 minutes (tests); the default keeps it.
void read_pop3(Reader& r, const toml::table& root, AppConfig& cfg) {
  const toml::table* t = root["pop3"].as_table();
  if (t == nullptr) return;
  auto& c = cfg.pop3;
  c.enabled = true;
  c.listen = {rt::Endpoint{"127.0.0.1", 1110}};
  c.tls_listen = {rt::Endpoint{"127.0.0.1", 1995}};
  r.check_keys(*t, "pop3", {"listen", "tls_listen", "max_connections", "max_connections_per_ip", "login_timeout",
                            "idle_timeout"});
  read_endpoints(r, *t, "pop3", "listen", c.listen);
  read_endpoints(r, *t, "pop3", "tls_listen", c.tls_listen);
  r.get_int(*t, "pop3", "max_connections", 1, 1'000'000, c.max_connections);
  r.get_int(*t, "pop3", "max_connections_per_ip", 1, 1'000'000, c.max_connections_per_ip);
  r.get_duration(*t, "pop3", "login_timeout", 1s, 1h, c.login_timeout);
  r.get_duration(*t, "pop3", "idle_timeout", 1s, 24h, c.idle_timeout);
  if (!r.failed() && c.listen.empty() && c.tls_listen.empty()) {
    r.fail_at(t->source(), "pop3", "needs at least one of listen and tls_listen (leave [pop3] out to serve no POP3)");
  }
}

// [http]: present = HTTP served (RFC 9112), on the listeners given (default 127.0.0.1:8080,
// no HTTPS); limits and timeouts.
void read_http(Reader& r, const toml::table& root, AppConfig& cfg) {
  const toml::table* t = root["http"].as_table();
  if (t == nullptr) return;
  auto& c = cfg.http;
  c.enabled = true;
  c.listen = {rt::Endpoint{"127.0.0.1", 8080}};
  c.tls_listen = {};
  r.check_keys(*t, "http", {"listen", "tls_listen", "max_connections", "max_connections_per_ip", "header_limit",
                            "body_limit", "max_requests_per_connection", "request_timeout", "idle_timeout",
                            "admin_user", "admin_password_file", "requests_per_second", "request_burst",
                            "rate_limit_loopback", "plaintext_on_loopback"});
  read_endpoints(r, *t, "http", "listen", c.listen);
  read_endpoints(r, *t, "http", "tls_listen", c.tls_listen);
  r.get_int(*t, "http", "max_connections", 1, 1'000'000, c.max_connections);
  r.get_int(*t, "http", "max_connections_per_ip", 1, 1'000'000, c.max_connections_per_ip);
  r.get_size(*t, "http", "header_limit", 1024, 1024 * 1024, c.header_limit);
  r.get_size(*t, "http", "body_limit", 0, 1ull << 31, c.body_limit);
  r.get_int(*t, "http", "max_requests_per_connection", 1, 1'000'000, c.max_requests_per_connection);
  r.get_duration(*t, "http", "request_timeout", 1s, 1h, c.request_timeout);
  r.get_duration(*t, "http", "idle_timeout", 1s, 24h, c.idle_timeout);
  r.get_int(*t, "http", "requests_per_second", 0, 1'000'000, c.requests_per_second);
  r.get_int(*t, "http", "request_burst", 0, 1'000'000, c.request_burst);
  r.get_bool(*t, "http", "rate_limit_loopback", c.rate_limit_loopback);
  r.get_bool(*t, "http", "plaintext_on_loopback", c.plaintext_on_loopback);
  r.get_string(*t, "http", "admin_user", c.admin_user);
  r.get_string(*t, "http", "admin_password_file", c.admin_password_file);
  if (!r.failed() && c.admin_user.empty() != c.admin_password_file.empty()) {
    r.fail_at(t->source(), "http", "admin_user and admin_password_file go together");
  }
  if (!r.failed() && c.requests_per_second > 0 && c.request_burst == 0) {
    r.fail_at(t->source(), "http.request_burst", "must be at least 1 when requests_per_second is set");
  }
  if (!r.failed() && !c.admin_password_file.empty()) {
    std::ifstream in(c.admin_password_file, std::ios::binary);
    std::string password;
    if (!in || !std::getline(in, password)) {
      r.fail_at(t->source(), "http.admin_password_file", "cannot read '" + c.admin_password_file + "'");
      return;
    }
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.empty() || password.find('\0') != std::string::npos) {
      r.fail_at(t->source(), "http.admin_password_file", "the first line must be the password");
      return;
    }
    c.admin_password = std::move(password);
  }
  if (!r.failed() && c.listen.empty() && c.tls_listen.empty()) {
    r.fail_at(t->source(), "http", "needs at least one of listen and tls_listen (leave [http] out to serve no HTTP)");
  }
}

// [tls]: STARTTLS and implicit TLS; the certificate pair, or none for a self-signed one.
void read_tls(Reader& r, const toml::table& root, AppConfig& cfg) {
  if (const toml::table* tls = root["tls"].as_table()) {
    r.check_keys(*tls, "tls", {"enabled", "cert", "key"});
    r.get_bool(*tls, "tls", "enabled", cfg.tls.enabled);
    r.get_string(*tls, "tls", "cert", cfg.tls.cert_file);
    r.get_string(*tls, "tls", "key", cfg.tls.key_file);
    if (cfg.tls.cert_file.empty() != cfg.tls.key_file.empty()) {
      r.fail_at(tls->source(), "tls", "cert and key go together (both set, or both unset for a self-signed pair)");
    }
  }
  if (!r.failed() && !cfg.tls.enabled && !cfg.smtp.listen_submissions.empty()) {
    r.fail_at(root.source(), "smtp.submissions_listen", "implicit TLS listeners need [tls] enabled = true");
  }
  if (!r.failed() && !cfg.tls.enabled && cfg.imap.enabled && !cfg.imap.tls_listen.empty()) {
    r.fail_at(root.source(), "imap.tls_listen", "implicit TLS listeners need [tls] enabled = true");
  }
  if (!r.failed() && !cfg.tls.enabled && cfg.pop3.enabled && !cfg.pop3.tls_listen.empty()) {
    r.fail_at(root.source(), "pop3.tls_listen", "implicit TLS listeners need [tls] enabled = true");
  }
  if (!r.failed() && !cfg.tls.enabled && cfg.http.enabled && !cfg.http.tls_listen.empty()) {
    r.fail_at(root.source(), "http.tls_listen", "implicit TLS listeners need [tls] enabled = true");
  }
}

// [auth]: the users file, SASL mechanisms and the failed-login guard.
void read_auth(Reader& r, const toml::table& root, AppConfig& cfg) {
  if (const toml::table* auth = root["auth"].as_table()) {
    r.check_keys(*auth, "auth",
                 {"users_file", "mechanisms", "plaintext_on_loopback", "failure_delay", "failure_delay_max",
                  "failure_window", "ip_failures_max", "user_failures_max"});
    r.get_string(*auth, "auth", "users_file", cfg.users_file);
    std::vector<std::string> mechanisms;
    toml::source_region where;
    if (r.get_strings(*auth, "auth", "mechanisms", mechanisms, &where) && !r.failed()) {
      cfg.smtp.session.auth.mechanisms.clear();
      for (const auto& m : mechanisms) {
        auto mech = sasl::parse_mechanism(m);
        if (!mech) {
          r.fail_at(where, "auth.mechanisms", "'" + m + "' is not one of SCRAM-SHA-256, PLAIN, LOGIN");
          break;
        }
        cfg.smtp.session.auth.mechanisms.push_back(*mech);
      }
    }
    auto& g = cfg.smtp.auth_guard;
    r.get_bool(*auth, "auth", "plaintext_on_loopback", cfg.smtp.auth_plaintext_on_loopback);
    r.get_duration(*auth, "auth", "failure_delay", 0s, 60s, g.failure_delay);
    r.get_duration(*auth, "auth", "failure_delay_max", 0s, 10min, g.failure_delay_max);
    r.get_duration(*auth, "auth", "failure_window", 1s, 24h, g.window);
    r.get_int(*auth, "auth", "ip_failures_max", 1, 1'000'000, g.ip_failures_max);
    r.get_int(*auth, "auth", "user_failures_max", 1, 1'000'000, g.user_failures_max);
  }
}

// [dns]: the resolver's servers, per-try timeout and tries (io::PosixDnsConfig).
void read_dns(Reader& r, const toml::table& root, AppConfig& cfg) {
  const toml::table* dns = root["dns"].as_table();
  if (!dns) return;
  r.check_keys(*dns, "dns", {"servers", "timeout", "attempts"});
  std::vector<std::string> servers;
  toml::source_region where;
  if (r.get_strings(*dns, "dns", "servers", servers, &where) && !r.failed()) {
    if (servers.size() > 3) r.fail_at(where, "dns.servers", "at most 3 servers (the resolver's limit)");
    for (std::size_t i = 0; i < servers.size() && !r.failed(); ++i) {
      const std::string key = "dns.servers[" + std::to_string(i) + "]";
      auto ep = parse_endpoint(servers[i]);
      if (!ep) {
        r.fail_at(where, key, "'" + servers[i] + "' is not IP:PORT (e.g. \"127.0.0.1:53\" or \"[::1]:5353\"; no host names)");
      } else if (ep->port == 0) {
        r.fail_at(where, key, "'" + servers[i] + "': the port must not be 0");
      } else {
        cfg.dns.servers.push_back(*ep);
      }
    }
  }
  r.get_duration(*dns, "dns", "timeout", 1s, 60s, cfg.dns.timeout);
  if (!r.failed() && cfg.dns.timeout % 1s != Duration::zero()) {
    r.fail_at(dns->get("timeout")->source(), "dns.timeout", "must be whole seconds (the resolver counts in seconds)");
  }
  r.get_int(*dns, "dns", "attempts", 1, 5, cfg.dns.attempts);
}

// [domains]: the local domains (required) and the subaddress separator.
void read_domains(Reader& r, const toml::table& root, AppConfig& cfg) {
  if (const toml::table* domains = root["domains"].as_table()) {
    r.check_keys(*domains, "domains", {"local", "subaddress_separator"});
    toml::source_region where;
    if (r.get_strings(*domains, "domains", "local", cfg.directory.domains, &where) && !r.failed()) {
      std::set<std::string> seen;
      for (auto& d : cfg.directory.domains) {
        d = ascii_lower(d);
        if (!smtp::is_valid_domain(d, true)) r.fail_at(where, "domains.local", "'" + d + "' is not a domain name");
        if (!seen.insert(d).second) r.fail_at(where, "domains.local", "'" + d + "' is listed twice");
      }
    }
    std::string sep = "+";
    r.get_string(*domains, "domains", "subaddress_separator", sep);
    if (sep.size() > 1 || (sep.size() == 1 && (sep[0] == '@' || sep[0] == '"' || sep[0] == '.'))) {
      r.fail_at(domains->get("subaddress_separator")->source(), "domains.subaddress_separator",
                "must be one character (e.g. \"+\"), or \"\" to disable");
    }
    cfg.directory.subaddress_separator = sep.empty() ? '\0' : sep[0];
  } else if (!r.failed()) {
    r.fail_at(root.source(), "domains", "missing: [domains] local = [\"example.org\"]");
  }
  if (!r.failed() && cfg.directory.domains.empty()) r.fail_at(root.source(), "domains.local", "must name at least one domain");
}

// [[users]]: names and aliases, unique across all users (ASCII case-insensitively).
void read_users(Reader& r, const toml::table& root, AppConfig& cfg) {
  if (const toml::node* users = root.get("users")) {
    const toml::array* arr = users->as_array();
    if (!arr || !arr->is_array_of_tables()) {
      r.fail_at(users->source(), "users", "must be an array of tables ([[users]])");
    } else {
      std::set<std::string> local_parts;
      for (const toml::node& item : *arr) {
        const toml::table& u = *item.as_table();
        r.check_keys(u, "users", {"name", "aliases"});
        store::UserConfig user;
        r.get_string(u, "users", "name", user.name);
        if (!u.get("name")) r.fail_at(u.source(), "users.name", "missing");
        r.get_strings(u, "users", "aliases", user.aliases);
        if (r.failed()) break;
        for (std::size_t i = 0; i <= user.aliases.size(); ++i) {
          const std::string& part = i == 0 ? user.name : user.aliases[i - 1];
          const std::string_view key = i == 0 ? "users.name" : "users.aliases";
          if (i == 0 ? !store::is_valid_user_name(part) : !store::is_valid_alias(part)) {
            r.fail_at(u.source(), key,
                      "'" + part + "' must be " + std::string(i == 0 ? store::kUserNameRule : store::kAliasRule));
          } else if (cfg.directory.subaddress_separator != '\0' &&
                     part.find(cfg.directory.subaddress_separator) != std::string::npos) {
            r.fail_at(u.source(), key, "'" + part + "' contains the subaddress separator");
          } else if (!local_parts.insert(ascii_lower(part)).second) {
            r.fail_at(u.source(), "users", "'" + part + "' is defined twice (names and aliases must be unique)");
          }
        }
        cfg.directory.users.push_back(std::move(user));
      }
    }
  }
  // No [[users]] is fine: every login of the users file is a local user too (one user model).
}

// One [[relay.routes]] entry.
void read_route(Reader& r, const toml::table& t, AppConfig& cfg) {
  r.check_keys(t, "relay.routes", {"domain", "host", "port", "tls", "auth_user", "auth_password_file"});
  node::StaticRoute route;
  r.get_string(t, "relay.routes", "domain", route.domain);
  r.get_string(t, "relay.routes", "host", route.host);
  r.get_int(t, "relay.routes", "port", 1, 65535, route.port);
  std::string tls = "opportunistic";
  r.get_string(t, "relay.routes", "tls", tls);
  r.get_string(t, "relay.routes", "auth_user", route.auth_user);
  r.get_string(t, "relay.routes", "auth_password_file", route.auth_password_file);
  if (r.failed()) return;
  route.domain = ascii_lower(route.domain);
  if (route.domain.empty() || (route.domain != "*" && !smtp::is_valid_domain(route.domain, false))) {
    r.fail_at(t.source(), "relay.routes.domain", "must be a domain name or \"*\" (every other domain)");
  } else if (route.host.empty() || (!parse_ip(route.host) && !smtp::is_valid_domain(route.host, false))) {
    r.fail_at(t.source(), "relay.routes.host", "must be an IP address or a host name");
  } else if (tls != "none" && tls != "opportunistic" && tls != "required") {
    r.fail_at(t.source(), "relay.routes.tls", "must be none, opportunistic or required");
  } else if (route.auth_user.empty() != route.auth_password_file.empty()) {
    r.fail_at(t.source(), "relay.routes", "auth_user and auth_password_file go together");
  }
  for (const auto& other : cfg.relay.routes) {
    if (other.domain == route.domain) r.fail_at(t.source(), "relay.routes.domain", "'" + route.domain + "' has two routes");
  }
  if (r.failed()) return;
  route.tls = tls == "none" ? node::TlsPolicy::none : tls == "required" ? node::TlsPolicy::required : node::TlsPolicy::opportunistic;
  if (!route.auth_password_file.empty()) {
    std::ifstream in(route.auth_password_file, std::ios::binary);
    std::string password;
    if (!in || !std::getline(in, password)) {
      r.fail_at(t.source(), "relay.routes.auth_password_file", "cannot read '" + route.auth_password_file + "'");
      return;
    }
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.empty() || password.find('\0') != std::string::npos) {
      r.fail_at(t.source(), "relay.routes.auth_password_file", "the first line must be the password");
      return;
    }
    cfg.relay.route_passwords[route.domain] = std::move(password);
  }
  cfg.relay.routes.push_back(std::move(route));
}

// [relay]: outbound delivery on/off, trusted networks, static routes.
void read_relay(Reader& r, const toml::table& root, AppConfig& cfg) {
  const toml::table* relay = root["relay"].as_table();
  if (!relay) return;
  r.check_keys(*relay, "relay", {"outbound", "trusted_networks", "routes"});
  r.get_bool(*relay, "relay", "outbound", cfg.relay.outbound);
  toml::source_region where;
  if (r.get_strings(*relay, "relay", "trusted_networks", cfg.relay.trusted_networks, &where) && !r.failed()) {
    for (const auto& net : cfg.relay.trusted_networks) {
      if (!parse_cidr(net)) {
        r.fail_at(where, "relay.trusted_networks", "'" + net + "' is not an address or CIDR (e.g. \"192.0.2.0/24\")");
        break;
      }
    }
  }
  if (const toml::node* routes = relay->get("routes")) {
    const toml::array* arr = routes->as_array();
    if (!arr || (!arr->empty() && !arr->is_array_of_tables())) {
      r.fail_at(routes->source(), "relay.routes", "must be an array of tables ([[relay.routes]])");
      return;
    }
    for (const toml::node& item : *arr) {
      read_route(r, *item.as_table(), cfg);
      if (r.failed()) return;
    }
  }
}

// [submission]: what the submission service checks and adds (RFC 6409).
void read_submission(Reader& r, const toml::table& root, AppConfig& cfg) {
  const toml::table* t = root["submission"].as_table();
  if (!t) return;
  r.check_keys(*t, "submission", {"sender_must_match_login", "add_missing_headers"});
  r.get_bool(*t, "submission", "sender_must_match_login", cfg.relay.sender_must_match_login);
  r.get_bool(*t, "submission", "add_missing_headers", cfg.relay.add_missing_headers);
}

// [queue]: the retry schedule and the outbound connection limits.
void read_queue(Reader& r, const toml::table& root, AppConfig& cfg) {
  const toml::table* t = root["queue"].as_table();
  if (!t) return;
  r.check_keys(*t, "queue",
               {"first_retry", "max_retry", "lifetime", "delay_warning", "max_connections", "per_destination",
                "connect_timeout"});
  auto& p = cfg.relay.retry;
  r.get_duration(*t, "queue", "first_retry", 1s, 24h, p.first);
  r.get_duration(*t, "queue", "max_retry", 1s, 7 * 24h, p.max);
  r.get_duration(*t, "queue", "lifetime", 1s, 365 * 24h, p.lifetime);
  r.get_duration(*t, "queue", "delay_warning", 0s, 365 * 24h, p.delay_warning);
  r.get_int(*t, "queue", "max_connections", 1, 100'000, cfg.relay.max_connections);
  r.get_int(*t, "queue", "per_destination", 1, 10'000, cfg.relay.per_destination);
  r.get_duration(*t, "queue", "connect_timeout", 1s, 10min, cfg.relay.connect_timeout);
  if (!r.failed() && p.max < p.first) r.fail_at(t->source(), "queue.max_retry", "must not be shorter than first_retry");
}

Result<AppConfig> build(const toml::table& root, std::string_view source) {
  Reader r(source);
  AppConfig cfg;
  cfg.source = std::string(source);

  r.check_keys(root, "", {"server", "smtp", "imap", "pop3", "http", "domains", "users", "tls", "auth", "dns", "relay", "submission", "queue"});
  for (std::string_view section : {"server", "smtp", "imap", "pop3", "http", "domains", "tls", "auth", "dns", "relay", "submission", "queue"}) {
    if (const toml::node* n = root.get(section); n && !n->is_table()) r.fail_at(n->source(), section, "must be a table ([" + std::string(section) + "])");
  }

  read_server(r, root, cfg);
  read_smtp(r, root, cfg);
  read_imap(r, root, cfg);
  read_pop3(r, root, cfg);
  read_http(r, root, cfg);
  read_tls(r, root, cfg);
  read_auth(r, root, cfg);
  read_dns(r, root, cfg);
  read_domains(r, root, cfg);
  read_users(r, root, cfg);
  read_relay(r, root, cfg);
  read_submission(r, root, cfg);
  read_queue(r, root, cfg);

  if (r.failed()) return fail(r.take_error());
  cfg.smtp.session.hostname = cfg.hostname;
  return cfg;
}

std::string duration_text(Duration d) { return Reader::format_duration(d); }

// toml++ 3.3 (Debian's) reaches __builtin_unreachable() when it classifies some non-ASCII
// code points as whitespace or not (upstream issues #190, #295; fixed after 3.3 by PR #305):
// undefined behaviour on a typo such as `key = é`, found by fuzz/config_toml under UBSan.
// Outside strings and comments a non-ASCII octet is a TOML syntax error anyway (bare keys
// are ASCII in TOML 1.0), and so is the one place inside a string where toml++ classifies
// one: the first character after a line-ending backslash of a multi-line basic string
// (issue #190; refused here although valid TOML). So the text is scanned first, and the
// first such octet is reported as a syntax error on its line. A quote opens a string only
// where TOML allows one (after '=', '[', ',', '{', '.', or at the start of a line, blanks
// aside): elsewhere toml++ is reading a bare value and classifies every octet of it.
// Returns 0 when there is no such octet.
std::size_t line_of_unsafe_non_ascii(std::string_view t) noexcept {
  enum class In : std::uint8_t { code, comment, basic, literal, ml_basic, ml_trim, ml_literal };
  In in = In::code;
  std::size_t line = 1;
  char last = '\n';  // the last octet in code other than space and tab
  auto starts = [&t](std::size_t i, std::string_view s) { return t.substr(i, s.size()) == s; };
  auto string_may_open = [&last] { return std::string_view("=[,{.\n").find(last) != std::string_view::npos; };
  // A UTF-8 byte order mark may start the text (toml++ skips it).
  for (std::size_t i = starts(0, "\xEF\xBB\xBF") ? 3 : 0; i < t.size(); ++i) {
    const char c = t[i];
    const bool high = static_cast<unsigned char>(c) >= 0x80;
    if (c == '\n') ++line;
    switch (in) {
      case In::code:
        if (high) return line;
        if (c == '#') {
          in = In::comment;
        } else if ((c == '"' || c == '\'') && string_may_open()) {
          const bool ml = starts(i, c == '"' ? "\"\"\"" : "'''");
          in = c == '"' ? (ml ? In::ml_basic : In::basic) : (ml ? In::ml_literal : In::literal);
          if (ml) i += 2;
        } else if (c != ' ' && c != '\t') {
          last = c;
        }
        break;
      case In::comment:
        if (c == '\n') {
          in = In::code;
          last = '\n';
        }
        break;
      case In::basic:
        if (c == '\\' && i + 1 < t.size() && t[i + 1] != '\n') {
          ++i;  // an escaped octet
        } else if (c == '"' || c == '\n') {  // the end (or an error)
          in = In::code;
          last = c;
        }
        break;
      case In::literal:
        if (c == '\'' || c == '\n') {
          in = In::code;
          last = c;
        }
        break;
      case In::ml_basic:
        if (c == '\\') {
          std::size_t j = i + 1;
          while (j < t.size() && (t[j] == ' ' || t[j] == '\t' || t[j] == '\r')) ++j;
          if (j < t.size() && t[j] == '\n') in = In::ml_trim;  // a line-ending backslash
          else ++i;                                             // an escaped octet
        } else if (starts(i, "\"\"\"")) {
          i += 2;
          while (i + 1 < t.size() && t[i + 1] == '"') ++i;  // up to two quotes may end the content
          in = In::code;
          last = '"';
        }
        break;
      case In::ml_trim:
        if (high) return line;
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
          in = In::ml_basic;
          --i;  // read it again as content
        }
        break;
      case In::ml_literal:
        if (starts(i, "'''")) {
          i += 2;
          while (i + 1 < t.size() && t[i + 1] == '\'') ++i;
          in = In::code;
          last = '\'';
        }
        break;
    }
  }
  return 0;
}

}  // namespace

std::string_view default_config_text() noexcept { return kDefaultConfig; }

Result<AppConfig> parse_config(std::string_view text, std::string_view source) {
  if (const std::size_t line = line_of_unsafe_non_ascii(text); line != 0) {
    std::string msg = std::string(source);
    msg += ":" + std::to_string(line);
    msg += ": TOML syntax: a non-ASCII character outside a string or comment";
    return fail(Errc::invalid, std::move(msg));
  }
  try {
    const toml::table root = toml::parse(text, source);
    return build(root, source);
  } catch (const toml::parse_error& e) {
    std::string msg = std::string(source);
    if (e.source().begin.line > 0) msg += ":" + std::to_string(e.source().begin.line);
    msg += ": TOML syntax: " + std::string(e.description());
    return fail(Errc::invalid, std::move(msg));
  }
}

Result<AppConfig> load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::not_found, path + ": cannot open the configuration file");
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return fail(Errc::io, path + ": read error");
  return parse_config(buf.str(), path);
}

std::string describe_config(const AppConfig& c) {
  const auto& l = c.smtp.session.limits;
  toml::table server{
      {"hostname", c.hostname},
      {"data_dir", c.data_dir},
      {"pid_file", c.pid_path()},
      {"log_level", c.log_level},
      {"log_format", c.log_format},
      {"log_output", c.log_output},
      {"shutdown_timeout", duration_text(c.shutdown_timeout)},
      {"allow_root", c.allow_root},
  };
  if (!c.user.empty()) server.insert("user", c.user);
  if (!c.group.empty()) server.insert("group", c.group);
  auto endpoints = [](const std::vector<rt::Endpoint>& eps) {
    toml::array a;
    for (const auto& ep : eps) a.push_back(ep.to_string());
    return a;
  };
  toml::table smtp{
      {"listen", endpoints(c.smtp.listen)},
      {"submission_listen", endpoints(c.smtp.listen_submission)},
      {"submissions_listen", endpoints(c.smtp.listen_submissions)},
      {"tls_handshake_timeout", duration_text(c.smtp.tls_handshake_timeout)},
      {"max_connections", static_cast<std::int64_t>(c.smtp.connections.connections_max)},
      {"max_connections_per_ip", static_cast<std::int64_t>(c.smtp.connections.connections_per_ip_max)},
      {"message_size_max", static_cast<std::int64_t>(l.message_bytes_max)},
      {"recipients_max", static_cast<std::int64_t>(l.recipients_max)},
      {"hops_max", static_cast<std::int64_t>(l.hops_max)},
      {"errors_max", static_cast<std::int64_t>(l.errors_max)},
      {"error_delay", duration_text(l.error_delay)},
      {"greeting_timeout", duration_text(l.initial_idle_timeout)},
      {"command_timeout", duration_text(l.command_timeout)},
      {"data_timeout", duration_text(l.data_block_timeout)},
      {"write_timeout", duration_text(c.smtp.write_timeout)},
      {"pipelining", c.smtp.session.pipelining},
      {"chunking", c.smtp.session.chunking},
      {"smtputf8", c.smtp.session.smtputf8},
      {"eightbitmime", c.smtp.session.eight_bit_mime},
      {"binarymime", c.smtp.session.binary_mime},
      {"dsn", c.smtp.session.dsn},
      {"vrfy", c.smtp.session.vrfy_enabled},
      {"reject_pipelined_data", c.smtp.session.reject_pipelined_data},
  };
  toml::array domains;
  for (const auto& d : c.directory.domains) domains.push_back(d);
  toml::table domain_table{
      {"local", domains},
      {"subaddress_separator",
       c.directory.subaddress_separator == '\0' ? std::string() : std::string(1, c.directory.subaddress_separator)},
  };
  toml::array users;
  for (const auto& u : c.directory.users) {
    toml::array aliases;
    for (const auto& a : u.aliases) aliases.push_back(a);
    users.push_back(toml::table{{"name", u.name}, {"aliases", aliases}});
  }
  toml::table tls{{"enabled", c.tls.enabled}, {"cert", c.tls.cert_file}, {"key", c.tls.key_file}};
  toml::array mechanisms;
  for (auto m : c.smtp.session.auth.mechanisms) mechanisms.push_back(std::string(sasl::to_string(m)));
  const auto& g = c.smtp.auth_guard;
  toml::table auth{
      {"users_file", c.users_path()},
      {"mechanisms", mechanisms},
      {"plaintext_on_loopback", c.smtp.auth_plaintext_on_loopback},
      {"failure_delay", duration_text(g.failure_delay)},
      {"failure_delay_max", duration_text(g.failure_delay_max)},
      {"failure_window", duration_text(g.window)},
      {"ip_failures_max", static_cast<std::int64_t>(g.ip_failures_max)},
      {"user_failures_max", static_cast<std::int64_t>(g.user_failures_max)},
  };
  toml::table dns{
      {"servers", endpoints(c.dns.servers)},
      {"timeout", duration_text(c.dns.timeout)},
      {"attempts", static_cast<std::int64_t>(c.dns.attempts)},
  };
  const auto& rc = c.relay;
  toml::array trusted;
  for (const auto& n : rc.trusted_networks) trusted.push_back(n);
  toml::array routes;
  for (const auto& route : rc.routes) {
    const char* route_tls = route.tls == node::TlsPolicy::none       ? "none"
                            : route.tls == node::TlsPolicy::required ? "required"
                                                                     : "opportunistic";
    toml::table rt_table{{"domain", route.domain}, {"host", route.host}, {"port", static_cast<std::int64_t>(route.port)},
                         {"tls", route_tls}};
    if (!route.auth_user.empty()) {
      rt_table.insert("auth_user", route.auth_user);
      rt_table.insert("auth_password_file", route.auth_password_file);
    }
    routes.push_back(std::move(rt_table));
  }
  toml::table relay{{"outbound", rc.outbound}, {"trusted_networks", trusted}, {"routes", routes}};
  toml::table submission{{"sender_must_match_login", rc.sender_must_match_login},
                         {"add_missing_headers", rc.add_missing_headers}};
  toml::table queue{
      {"first_retry", duration_text(rc.retry.first)},
      {"max_retry", duration_text(rc.retry.max)},
      {"lifetime", duration_text(rc.retry.lifetime)},
      {"delay_warning", duration_text(rc.retry.delay_warning)},
      {"max_connections", static_cast<std::int64_t>(rc.max_connections)},
      {"per_destination", static_cast<std::int64_t>(rc.per_destination)},
      {"connect_timeout", duration_text(rc.connect_timeout)},
  };
  toml::table root{{"server", server}, {"smtp", smtp},       {"tls", tls},         {"auth", auth},
                   {"dns", dns},       {"domains", domain_table}, {"users", users}, {"relay", relay},
                   {"submission", submission}, {"queue", queue}};
  if (c.imap.enabled) {
    const auto& im = c.imap;
    root.insert("imap", toml::table{
                            {"listen", endpoints(im.listen)},
                            {"tls_listen", endpoints(im.tls_listen)},
                            {"max_connections", static_cast<std::int64_t>(im.max_connections)},
                            {"max_connections_per_ip", static_cast<std::int64_t>(im.max_connections_per_ip)},
                            {"max_sessions_per_user_ip", static_cast<std::int64_t>(im.max_sessions_per_user_ip)},
                            {"append_limit", static_cast<std::int64_t>(im.append_limit)},
                            {"quota", static_cast<std::int64_t>(im.quota_bytes)},
                            {"quota_messages", static_cast<std::int64_t>(im.quota_messages)},
                            {"login_timeout", duration_text(im.login_timeout)},
                            {"autologout", duration_text(im.autologout)},
                            {"compress", im.compress},
                            {"literal_minus", im.literal_minus},
                        });
  }
  if (c.pop3.enabled) {
    const auto& po = c.pop3;
    root.insert("pop3", toml::table{
                            {"listen", endpoints(po.listen)},
                            {"tls_listen", endpoints(po.tls_listen)},
                            {"max_connections", static_cast<std::int64_t>(po.max_connections)},
                            {"max_connections_per_ip", static_cast<std::int64_t>(po.max_connections_per_ip)},
                            {"login_timeout", duration_text(po.login_timeout)},
                            {"idle_timeout", duration_text(po.idle_timeout)},
                        });
  }
  if (c.http.enabled) {
    const auto& h = c.http;
    root.insert("http", toml::table{
                            {"listen", endpoints(h.listen)},
                            {"tls_listen", endpoints(h.tls_listen)},
                            {"max_connections", static_cast<std::int64_t>(h.max_connections)},
                            {"max_connections_per_ip", static_cast<std::int64_t>(h.max_connections_per_ip)},
                            {"header_limit", static_cast<std::int64_t>(h.header_limit)},
                            {"body_limit", static_cast<std::int64_t>(h.body_limit)},
                            {"max_requests_per_connection", static_cast<std::int64_t>(h.max_requests_per_connection)},
                            {"request_timeout", duration_text(h.request_timeout)},
                            {"idle_timeout", duration_text(h.idle_timeout)},
                            {"requests_per_second", static_cast<std::int64_t>(h.requests_per_second)},
                            {"request_burst", static_cast<std::int64_t>(h.request_burst)},
                            {"rate_limit_loopback", h.rate_limit_loopback},
                            {"plaintext_on_loopback", h.plaintext_on_loopback},
                        });
    if (!h.admin_user.empty()) {
      root["http"].as_table()->insert("admin_user", h.admin_user);
      root["http"].as_table()->insert("admin_password_file", h.admin_password_file);
    }
  }
  std::ostringstream out;
  out << "# effective configuration (from " << c.source << ")\n" << root << "\n";
  return out.str();
}

}  // namespace mail::app
