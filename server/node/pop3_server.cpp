// Pop3Server: the POP3 service over the shared ListenerService (see header). Must not:
// touch Asio, read the OS clock or keep global state.
#include "node/pop3_server.h"

#include "node/pop3/session_adapter.h"

namespace mail::node {

namespace {

bool is_loopback(std::string_view address) {
  return address == "::1" || address.starts_with("127.") || address.starts_with("::ffff:127.");
}

ListenerServiceConfig listener_config(const Pop3ServerConfig& c) {
  ListenerServiceConfig l;
  l.connection.read_buffer_bytes = c.read_buffer_bytes;
  l.connection.write_timeout = c.write_timeout;
  l.connection.tls_handshake_timeout = c.tls_handshake_timeout;
  l.limits = c.connections;
  l.force_close_grace = c.force_close_grace;
  return l;
}

}  // namespace

Pop3Server::Pop3Server(rt::Env& env, Pop3ServerConfig config, store::MailStore& store, sasl::Crypto* crypto,
                       const sasl::CredentialStore* credentials, AuthGuard& guard)
    : env_(env),
      config_(std::move(config)),
      store_(store),
      crypto_(crypto),
      guard_(guard),
      service_(env, "pop3", listener_config(config_), *this) {
  if (credentials != nullptr) credentials_.emplace(guard_, env_.clock(), *credentials);
}

Pop3Server::~Pop3Server() = default;

Status Pop3Server::bind() {
  std::vector<ListenerSpec> specs;
  for (const auto& at : config_.listen)
    specs.push_back(ListenerSpec{at, static_cast<std::uint8_t>(Pop3ListenerKind::pop3), "pop3", false});
  for (const auto& at : config_.listen_tls)
    specs.push_back(ListenerSpec{at, static_cast<std::uint8_t>(Pop3ListenerKind::pop3s), "pop3s", true});
  return service_.bind(std::move(specs));
}

Status Pop3Server::start() {
  if (!service_.bound_already()) {
    if (Status bound = bind(); !bound.ok()) return bound;
  }
  return service_.start();
}

std::unique_ptr<DrivenSession> Pop3Server::open_session(Connection& connection, const ConnectionInfo& info) {
  pop3::SessionConfig c = config_.session;
  c.tls_active = info.tls;
  c.starttls_available = tls() != nullptr && !info.tls;
  c.crypto = crypto_;
  c.credentials = credentials_ && credentials_->has_users() ? &*credentials_ : nullptr;
  c.plaintext_without_tls = config_.auth_plaintext_on_loopback && is_loopback(info.remote.address);
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
