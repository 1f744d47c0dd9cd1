// AppConfig -> node::MailServerConfig: the translation `serve` and the Python embedded
// server share, so both run the same assembly from the same file. No toml++ here.
#include "app/config.h"

#include "core/assert.h"
#include "core/ip_address.h"

namespace mail::app {

namespace {
// The [imap] / [pop3] keys both services name alike -> their node config.
template <class NodeConfig, class AppSection>
void set_mail_access_basics(NodeConfig& n, const AppSection& a, bool auth_plaintext_on_loopback) {
  n.listen = a.listen;
  n.listen_tls = a.tls_listen;
  n.connections.connections_max = a.max_connections;
  n.connections.connections_per_ip_max = a.max_connections_per_ip;
  n.session.login_timeout = a.login_timeout;
  n.auth_plaintext_on_loopback = auth_plaintext_on_loopback;
}
}  // namespace

node::MailServerConfig AppConfig::server_config() const {
  node::MailServerConfig c;
  c.data_dir = data_dir;
  c.directory = directory;
  c.smtp = smtp;
  c.users_path = users_path();
  c.relay.sender_must_match_login = relay.sender_must_match_login;
  c.relay.add_missing_headers = relay.add_missing_headers;
  for (const auto& net : relay.trusted_networks) {
    auto cidr = parse_cidr(net);
    MAIL_ASSERT(cidr.has_value());  // validated by parse_config
    c.relay.policy.trusted_networks.push_back(*cidr);
  }
  for (const auto& ep : smtp.listen) {
    if (auto ip = parse_ip(ep.address)) c.relay.policy.own_addresses.push_back(*ip);
  }
  if (relay.outbound) {
    node::QueueManagerConfig q;
    q.retry = relay.retry;
    q.router.routes = relay.routes;
    for (const auto& ep : smtp.listen) q.router.own_addresses.push_back(ep.address);
    for (const auto& [domain, password] : relay.route_passwords) {
      for (const auto& route : relay.routes) {
        if (route.domain != domain || route.auth_user.empty()) continue;
        smtp::ClientAuth auth;
        auth.user = route.auth_user;
        auth.password = password;
        // A smarthost on loopback (tests, local relays) may get PLAIN without TLS.
        auth.plaintext_without_tls = parse_ip(route.host).has_value() && parse_ip(route.host)->is_loopback();
        q.route_auth.emplace(domain, std::move(auth));
      }
    }
    q.max_connections = relay.max_connections;
    q.per_destination = relay.per_destination;
    q.connect_timeout = relay.connect_timeout;
    c.outbound = std::move(q);
  }
  if (imap.enabled) {
    node::ImapServerConfig i;
    set_mail_access_basics(i, imap, smtp.auth_plaintext_on_loopback);
    i.sessions_per_user_ip_max = imap.max_sessions_per_user_ip;
    i.commands.append_limit = imap.append_limit;
    i.session.autologout = imap.autologout;
    i.session.reader.literal_minus = imap.literal_minus;
    i.compress = imap.compress;
    c.imap = std::move(i);
    c.quota_bytes = imap.quota_bytes;
    c.quota_messages = imap.quota_messages;
  }
  if (pop3.enabled) {
    node::Pop3ServerConfig p;
    set_mail_access_basics(p, pop3, smtp.auth_plaintext_on_loopback);
    p.session.idle_timeout = pop3.idle_timeout;
    c.pop3 = std::move(p);
  }
  if (http.enabled) {
    node::HttpServerConfig h;
    h.listen = http.listen;
    h.listen_tls = http.tls_listen;
    h.connections.connections_max = http.max_connections;
    h.connections.connections_per_ip_max = http.max_connections_per_ip;
    h.limits.header_bytes_max = static_cast<std::uint32_t>(http.header_limit);
    h.limits.body_bytes_max = http.body_limit;
    h.limits.requests_per_connection_max = http.max_requests_per_connection;
    h.limits.request_timeout = http.request_timeout;
    h.limits.idle_timeout = http.idle_timeout;
    h.auth_plaintext_on_loopback = http.plaintext_on_loopback;
    h.rate_limit.requests_per_second = http.requests_per_second;
    h.rate_limit.burst = http.request_burst;
    h.rate_limit.limit_loopback = http.rate_limit_loopback;
    c.admin.user = http.admin_user;
    c.admin.password = http.admin_password;
    c.http = std::move(h);
  }
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
