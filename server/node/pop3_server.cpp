// Pop3Server: the POP3 service over the shared ListenerService (see header). Must not:
// touch Asio, read the OS clock or keep global state.
#include "node/pop3_server.h"

#include "node/pop3/session_adapter.h"

namespace mail::node {

Pop3Server::Pop3Server(rt::Env& env, Pop3ServerConfig config, store::MailStore& store, sasl::Crypto* crypto,
                       const sasl::CredentialStore* credentials, AuthGuard& guard)
    : env_(env),
      config_(std::move(config)),
      store_(store),
      crypto_(crypto),
      guard_(guard),
      service_(env, "pop3", basic_listener_config(config_), *this) {
  if (credentials != nullptr) credentials_.emplace(guard_, env_.clock(), *credentials);
}

Pop3Server::~Pop3Server() = default;

std::vector<ListenerSpec> Pop3Server::listener_specs() const {
  std::vector<ListenerSpec> specs;
  add_listener_specs(specs, config_.listen, static_cast<std::uint8_t>(Pop3ListenerKind::pop3), "pop3", false);
  add_listener_specs(specs, config_.listen_tls, static_cast<std::uint8_t>(Pop3ListenerKind::pop3s), "pop3s", true);
  return specs;
}

Status Pop3Server::bind() { return service_.bind(listener_specs()); }

Status Pop3Server::start() { return service_.bind_once_and_start(listener_specs()); }

std::unique_ptr<DrivenSession> Pop3Server::open_session(Connection& connection, const ConnectionInfo& info) {
  pop3::SessionConfig c = config_.session;
  c.tls_active = info.tls;
  c.starttls_available = tls() != nullptr && !info.tls;
  c.crypto = crypto_;
  c.credentials = credentials_ && credentials_->has_users() ? &*credentials_ : nullptr;
  c.plaintext_without_tls = config_.auth_plaintext_on_loopback && is_loopback_address(info.remote.address);
  return std::make_unique<Pop3SessionAdapter>(*this, connection, std::move(c), env_.clock().now());
}

std::string Pop3Server::refusal_bytes(std::string_view why) const {
  std::string out = "-ERR [SYS/TEMP] ";
  out += why.empty() ? std::string_view("Too many connections") : why;
  out += "\r\n";
  return out;
}

Pop3ServerCounters Pop3Server::counters() const noexcept {
  Pop3ServerCounters c = counters_;
  static_cast<ListenerCounters&>(c) = service_.counters();
  return c;
}

}  // namespace mail::node
