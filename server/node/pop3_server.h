// Pop3Server: the POP3 service — a ListenerService (accept, admission, shutdown: shared
// with SMTP and IMAP) whose connections run the generic node::Connection driver around a
// sans-IO pop3::ServerSession (pop3/session_adapter.h), the maildrop being the user's INBOX
// in the store::MailStore. Listeners: STLS (110; 1110 by default) and implicit TLS (995;
// 1995 by default, RFC 8314). Authentication shares the users and the AuthGuard with SMTP
// and IMAP. The maildrop lock (RFC 1939 §8: exclusive access) is per user inside this
// process: a second POP3 session gets -ERR [IN-USE]; IMAP is never blocked.
// Env only: no Asio, no clock but env.clock(), no globals. Destroy only after stop().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/result.h"
#include "node/auth_guard.h"
#include "node/listener_service.h"
#include "proto/pop3/server_session.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "store/mail_store.h"
#include "tls/context.h"

namespace mail::node {

enum class Pop3ListenerKind : std::uint8_t {
  pop3,   // STLS offered when TLS is configured
  pop3s,  // implicit TLS from the first byte
};

struct Pop3ServerConfig {
  std::vector<rt::Endpoint> listen;      // Pop3ListenerKind::pop3
  std::vector<rt::Endpoint> listen_tls;  // Pop3ListenerKind::pop3s (needs TLS)
  pop3::SessionConfig session;           // greeting, limits, timeouts
  ConnectionLimitsConfig connections;
  std::uint32_t read_buffer_bytes = 4 * 1024;
  Duration write_timeout = 5min;
  Duration tls_handshake_timeout = 60s;
  Duration force_close_grace = 2s;
  // USER/PASS and AUTH PLAIN/LOGIN without TLS from 127.0.0.1 / ::1 only.
  bool auth_plaintext_on_loopback = false;
};

struct Pop3ServerCounters : ListenerCounters {
  std::uint64_t commands = 0;  // RETR/TOP/QUIT handed to the application
  std::uint64_t auth_successes = 0;
  std::uint64_t auth_failures = 0;
  std::uint64_t messages_retrieved = 0;
  std::uint64_t messages_deleted = 0;
};

class Pop3SessionAdapter;

class Pop3Server final : private ServiceProtocol {
 public:
  Pop3Server(rt::Env& env, Pop3ServerConfig config, store::MailStore& store, sasl::Crypto* crypto,
             const sasl::CredentialStore* credentials, AuthGuard& guard);
  ~Pop3Server() override;
  Pop3Server(const Pop3Server&) = delete;
  Pop3Server& operator=(const Pop3Server&) = delete;

  [[nodiscard]] Status bind();
  [[nodiscard]] Status start();
  rt::Task<void> stop(Instant deadline) { return service_.stop(deadline); }

  const std::vector<rt::Endpoint>& bound_endpoints() const noexcept { return service_.bound(); }
  // "pop3" or "pop3s" (implicit TLS) for bound_endpoints()[i].
  const std::string& bound_label(std::size_t i) const { return service_.spec(i).label; }
  void set_tls(std::shared_ptr<tls::TlsContext> context) { service_.set_tls(std::move(context)); }
  const std::shared_ptr<tls::TlsContext>& tls() const noexcept { return service_.tls(); }
  std::size_t connection_count() const noexcept { return service_.connection_count(); }
  Pop3ServerCounters counters() const noexcept;
  const Pop3ServerConfig& config() const noexcept { return config_; }
  void set_mailbox_of_login(std::function<std::string(std::string_view login)> fn) { mailbox_of_login_ = std::move(fn); }

 private:
  std::vector<ListenerSpec> listener_specs() const;
  friend class Pop3SessionAdapter;
  std::unique_ptr<DrivenSession> open_session(Connection& connection, const ConnectionInfo& info) override;
  std::string refusal_bytes(std::string_view why) const override;

  rt::Env& env_;
  Pop3ServerConfig config_;
  store::MailStore& store_;
  sasl::Crypto* crypto_;
  AuthGuard& guard_;
  std::optional<GuardedCredentials> credentials_;
  std::set<std::string> locked_maildrops_;  // before service_: sessions release on destruction
  ListenerService service_;
  Pop3ServerCounters counters_;
  std::function<std::string(std::string_view)> mailbox_of_login_;
};

}  // namespace mail::node
