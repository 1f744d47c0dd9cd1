// ImapServer: the IMAP service — a ListenerService (accept, admission, shutdown: shared
// with SMTP) whose connections run the generic node::Connection driver around a sans-IO
// imap::ServerSession (imap/session_adapter.h), with the mailbox commands run against a
// store::MailStore. Listeners: STARTTLS (143; 1143 by default) and implicit TLS (993;
// 1993 by default, RFC 8314). Authentication shares the users and the AuthGuard with SMTP.
// Env only: no Asio, no clock but env.clock(), no globals. Destroy only after stop().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "node/auth_guard.h"
#include "node/imap/commands.h"
#include "node/listener_service.h"
#include "proto/imap/server_session.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "store/mail_store.h"
#include "tls/context.h"

namespace mail::node {

enum class ImapListenerKind : std::uint8_t {
  imap,   // STARTTLS offered when TLS is configured
  imaps,  // implicit TLS from the first byte
};

struct ImapServerConfig {
  std::vector<rt::Endpoint> listen;      // ImapListenerKind::imap
  std::vector<rt::Endpoint> listen_tls;  // ImapListenerKind::imaps (needs TLS)
  imap::SessionConfig session;           // greeting, limits, timeouts (capabilities filled here)
  imapsrv::CommandConfig commands;          // APPENDLIMIT, quota
  ConnectionLimitsConfig connections;
  // Small: an idle IMAP connection should cost little (the target: <= 44 KB).
  std::uint32_t read_buffer_bytes = 4 * 1024;
  Duration write_timeout = 5min;
  Duration tls_handshake_timeout = 60s;
  Duration force_close_grace = 2s;
  // LOGIN / AUTHENTICATE PLAIN without TLS from 127.0.0.1 / ::1 only.
  bool auth_plaintext_on_loopback = false;
  // Logged-in sessions of one user from one IP; the next login gets NO [LIMIT]
  // (Dovecot's mail_max_userip_connections, SECURITY.md §6 test 8). 0 = no cap.
  std::uint32_t sessions_per_user_ip_max = 10;
  // COMPRESS=DEFLATE (RFC 4978) offered after login (`[imap] compress = false` turns it
  // off): a session that compresses costs ~81 KiB more (zlib state), and compression adds
  // a weak length oracle (RFC 4978 §6; USER_GUIDE §13 has the reasoning).
  bool compress = true;
};

struct ImapServerCounters : ListenerCounters {
  std::uint64_t commands = 0;
  std::uint64_t auth_successes = 0;
  std::uint64_t auth_failures = 0;
};

class ImapSessionAdapter;

class ImapServer final : private ServiceProtocol {
 public:
  // `credentials` null: nobody can log in. `crypto` feeds SCRAM nonces. `guard` is the
  // server-wide failed-authentication defence (shared with SMTP).
  ImapServer(rt::Env& env, ImapServerConfig config, store::MailStore& store, sasl::Crypto* crypto,
             const sasl::CredentialStore* credentials, AuthGuard& guard);
  ~ImapServer() override;
  ImapServer(const ImapServer&) = delete;
  ImapServer& operator=(const ImapServer&) = delete;

  [[nodiscard]] Status bind();
  [[nodiscard]] Status start();
  rt::Task<void> stop(Instant deadline) { return service_.stop(deadline); }

  const std::vector<rt::Endpoint>& bound_endpoints() const noexcept { return service_.bound(); }
  // "imap" or "imaps" (implicit TLS) for bound_endpoints()[i].
  const std::string& bound_label(std::size_t i) const { return service_.spec(i).label; }
  void set_tls(std::shared_ptr<tls::TlsContext> context) { service_.set_tls(std::move(context)); }
  const std::shared_ptr<tls::TlsContext>& tls() const noexcept { return service_.tls(); }
  std::size_t connection_count() const noexcept { return service_.connection_count(); }
  ImapServerCounters counters() const noexcept;
  const ImapServerConfig& config() const noexcept { return config_; }
  // Which mailbox a login opens (the directory's one user model); default: the login
  // lower-cased.
  void set_mailbox_of_login(std::function<std::string(std::string_view login)> fn) { mailbox_of_login_ = std::move(fn); }
  // The capabilities of the authenticated state (what the commands implement).
  static std::vector<std::string> capabilities(const ImapServerConfig& config);

 private:
  std::vector<ListenerSpec> listener_specs() const;
  friend class ImapSessionAdapter;
  std::unique_ptr<DrivenSession> open_session(Connection& connection, const ConnectionInfo& info) override;
  std::string refusal_bytes(std::string_view why) const override;

  rt::Env& env_;
  ImapServerConfig config_;
  store::MailStore& store_;
  sasl::Crypto* crypto_;
  AuthGuard& guard_;
  std::optional<GuardedCredentials> credentials_;
  // Logged-in sessions by (mailbox, client IP): sessions_per_user_ip_max. Before service_:
  // the sessions it destroys give their places back.
  std::map<std::pair<std::string, std::string>, std::uint32_t> sessions_by_user_ip_;
  ListenerService service_;
  ImapServerCounters counters_;
  std::function<std::string(std::string_view)> mailbox_of_login_;
};

}  // namespace mail::node
