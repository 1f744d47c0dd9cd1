// ImapServer: the IMAP service over the shared ListenerService (see header). Must not:
// touch Asio, read the OS clock or keep global state.
#include "node/imap_server.h"

#include "core/assert.h"
#include "node/imap/session_adapter.h"

namespace mail::node {

std::vector<std::string> ImapServer::capabilities(const ImapServerConfig& config) {
  std::vector<std::string> caps = {
      "NAMESPACE", "UNSELECT", "UIDPLUS", "MOVE", "CHILDREN", "SPECIAL-USE", "CREATE-SPECIAL-USE",
      "LIST-EXTENDED", "LIST-STATUS", "ESEARCH", "SEARCHRES", "CONDSTORE", "QRESYNC", "SORT",
      "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES", "STATUS=SIZE", "UTF8=ACCEPT", "BINARY",
      "QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE"};
  caps.push_back("APPENDLIMIT=" + std::to_string(config.commands.append_limit));
  return caps;
}

ImapServer::ImapServer(rt::Env& env, ImapServerConfig config, store::MailStore& store, sasl::Crypto* crypto,
                       const sasl::CredentialStore* credentials, AuthGuard& guard)
    : env_(env),
      config_(std::move(config)),
      store_(store),
      crypto_(crypto),
      guard_(guard),
      service_(env, "imap", basic_listener_config(config_), *this) {
  if (credentials != nullptr) credentials_.emplace(guard_, env_.clock(), *credentials);
  config_.session.capabilities = capabilities(config_);
  config_.session.reader.literal_bytes_max = config_.commands.append_limit;
  config_.session.reader.command_bytes_max = config_.commands.append_limit + config_.session.reader.line_bytes_max;
}

ImapServer::~ImapServer() = default;

std::vector<ListenerSpec> ImapServer::listener_specs() const {
  std::vector<ListenerSpec> specs;
  add_listener_specs(specs, config_.listen, static_cast<std::uint8_t>(ImapListenerKind::imap), "imap", false);
  add_listener_specs(specs, config_.listen_tls, static_cast<std::uint8_t>(ImapListenerKind::imaps), "imaps", true);
  return specs;
}

Status ImapServer::bind() { return service_.bind(listener_specs()); }

Status ImapServer::start() { return service_.bind_once_and_start(listener_specs()); }

std::unique_ptr<DrivenSession> ImapServer::open_session(Connection& connection, const ConnectionInfo& info) {
  imap::SessionConfig c = config_.session;
  c.tls_active = info.tls;
  c.compress_available = config_.compress;
  c.starttls_available = tls() != nullptr && !info.tls;
  c.crypto = crypto_;
  // No users, no login: the session then says so instead of inviting guesses.
  c.credentials = credentials_ && credentials_->has_users() ? &*credentials_ : nullptr;
  c.plaintext_without_tls = config_.auth_plaintext_on_loopback && is_loopback_address(info.remote.address);
  return std::make_unique<ImapSessionAdapter>(*this, connection, std::move(c), env_.clock().now());
}

std::string ImapServer::refusal_bytes(std::string_view why) const {
  std::string out = "* BYE ";
  out += why.empty() ? std::string_view("Too many connections") : why;
  out += "\r\n";
  return out;
}

ImapServerCounters ImapServer::counters() const noexcept {
  ImapServerCounters c = counters_;
  static_cast<ListenerCounters&>(c) = service_.counters();
  return c;
}

}  // namespace mail::node
