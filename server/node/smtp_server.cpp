// SmtpServer: the SMTP service over the shared ListenerService (see header). Must not: touch
// Asio, read the OS clock or keep global state.
#include "node/smtp_server.h"

#include <span>

#include "core/assert.h"
#include "node/smtp_session_adapter.h"
#include "runtime/await.h"

namespace mail::node {

smtp::Reply MailHandler::check_mail_from(const smtp::Path& /*from*/, const smtp::MailParams& /*params*/,
                                         const SessionFacts& /*facts*/) {
  return smtp::Reply::make(250, {2, 1, 0}, "Ok");
}

smtp::Reply LocalMailHandler::check_recipient(const smtp::Path& to, const SessionFacts& /*facts*/) { return delivery_.check_recipient(to); }

rt::Task<DeliveryResult> LocalMailHandler::deliver(const smtp::Envelope& envelope, std::string content) {
  co_return co_await delivery_.deliver(envelope, std::move(content));
}

std::string_view to_string(ListenerKind k) noexcept {
  switch (k) {
    case ListenerKind::smtp: return "smtp";
    case ListenerKind::submission: return "submission";
    case ListenerKind::submissions: return "submissions";
  }
  return "invalid";
}

namespace {
ListenerServiceConfig listener_config(const SmtpServerConfig& c) {
  ListenerServiceConfig l = basic_listener_config(c);
  l.connection.linger_timeout = c.linger_timeout;
  l.connection.linger_bytes_max = c.linger_bytes_max;
  l.refuse_write_timeout = c.refuse_write_timeout;
  l.refusals_in_flight_max = c.refusals_in_flight_max;
  l.accept_retry_delay = c.accept_retry_delay;
  return l;
}
}  // namespace

SmtpServer::SmtpServer(rt::Env& env, SmtpServerConfig config, MailHandler& handler)
    : env_(env),
      config_(std::move(config)),
      handler_(handler),
      guard_(config_.auth_guard),
      service_(env, "smtp", listener_config(config_), *this),
      reject_log_(config_.reject_log) {
  if (config_.session.auth.credentials != nullptr) {
    guarded_credentials_.emplace(guard_, env_.clock(), *config_.session.auth.credentials);
  }
}

SmtpServer::~SmtpServer() = default;

smtp::ServerConfig SmtpServer::session_config(ListenerKind kind, const std::string& client_address) const {
  smtp::ServerConfig c = config_.session;
  c.starttls_available = tls() != nullptr && kind != ListenerKind::submissions;
  // No users, no AUTH: the session then neither advertises nor accepts it (submission
  // still requires it: MAIL gets 530). Checked per connection, so a user added to a
  // running server is offered AUTH from the next connection on.
  if (guarded_credentials_) c.auth.credentials = guarded_credentials_->has_users() ? &*guarded_credentials_ : nullptr;
  c.auth.plaintext_without_tls = config_.auth_plaintext_on_loopback && is_loopback_address(client_address);
  c.auth.required = c.auth.required || kind != ListenerKind::smtp;
  return c;
}

std::vector<ListenerSpec> SmtpServer::listener_specs() const {
  std::vector<ListenerSpec> specs;
  const std::pair<const std::vector<rt::Endpoint>*, ListenerKind> groups[] = {
      {&config_.listen, ListenerKind::smtp},
      {&config_.listen_submission, ListenerKind::submission},
      {&config_.listen_submissions, ListenerKind::submissions},
  };
  for (const auto& [endpoints, kind] : groups) {
    add_listener_specs(specs, *endpoints, static_cast<std::uint8_t>(kind), to_string(kind),
                       kind == ListenerKind::submissions);
  }
  return specs;
}

Status SmtpServer::bind() { return service_.bind(listener_specs()); }

// A submissions listener without a certificate is refused by the listener service.
Status SmtpServer::start() { return service_.bind_once_and_start(listener_specs()); }

std::unique_ptr<DrivenSession> SmtpServer::open_session(Connection& connection, const ConnectionInfo& info) {
  const auto kind = static_cast<ListenerKind>(info.listener_kind);
  smtp::SessionInfo session_info;
  session_info.remote_address = info.remote.address;
  session_info.remote_port = info.remote.port;
  session_info.local_address = info.local.address;
  session_info.tls = info.tls;
  return std::make_unique<SmtpSessionAdapter>(*this, connection, session_config(kind, info.remote.address),
                                              std::move(session_info), kind, env_.clock().now());
}

std::string SmtpServer::refusal_bytes(std::string_view why) const {
  return smtp::refuse_connection_bytes(config_.session.hostname, why);
}

SmtpServerCounters SmtpServer::counters() const noexcept {
  SmtpServerCounters c = counters_;
  static_cast<ListenerCounters&>(c) = service_.counters();
  return c;
}

}  // namespace mail::node
