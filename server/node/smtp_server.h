// SmtpServer: the SMTP service — a ListenerService (accept, admission, shutdown: shared with
// every protocol) whose connections run the generic node::Connection driver around a sans-IO
// smtp::ServerSession (smtp_session_adapter.h). It decides what each listener kind offers
// (STARTTLS, AUTH required on submission, RFC 8314 implicit TLS on 465). Env only: no Asio,
// no clock but env.clock(), no getenv, no globals. The server must outlive its tasks:
// destroy it only after stop() has completed (or after the Env destroyed its tasks).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/time.h"
#include "node/auth_guard.h"
#include "node/connection_limits.h"
#include "node/listener_service.h"
#include "node/log_budget.h"
#include "node/local_delivery.h"
#include "proto/smtp/server_session.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "tls/context.h"

namespace mail::node {

// What a listening socket serves (RFC 8314 §3.3, RFC 6409).
enum class ListenerKind : std::uint8_t {
  smtp,         // port 25: relay/inbound; STARTTLS offered when TLS is configured
  submission,   // port 587: STARTTLS offered, AUTH required before MAIL
  submissions,  // port 465: implicit TLS from the first byte, AUTH required before MAIL
};
std::string_view to_string(ListenerKind k) noexcept;

// What a handler may know about the session asking: the relay policy and the submission
// sender check depend on it (who is the client, did it authenticate, on which listener).
struct SessionFacts {
  ListenerKind listener = ListenerKind::smtp;
  std::string client_address;  // peer IP text
  std::string auth_identity;   // the authenticated user (RFC 4954), empty before AUTH
  bool tls = false;
};

// What the server asks the application about a transaction. The production answer is
// RelayMailHandler (relay_handler.h: local delivery and the outbound queue); tests bring their own.
class MailHandler {
 public:
  virtual ~MailHandler() = default;
  // MAIL FROM verdict. Default: 250 2.1.0 Ok (sender policy arrives with its own issue).
  virtual smtp::Reply check_mail_from(const smtp::Path& from, const smtp::MailParams& params,
                                      const SessionFacts& facts);
  // RCPT TO verdict: 250 2.1.5, 550 5.1.1, 554 5.7.1 ...
  virtual smtp::Reply check_recipient(const smtp::Path& to, const SessionFacts& facts) = 0;
  // Stores the message; completes with the reply for the end of DATA / BDAT LAST. A 250
  // must mean "durable" (DESIGN.md: nothing acknowledged is ever lost). `envelope` stays
  // alive until the task completes.
  virtual rt::Task<DeliveryResult> deliver(const smtp::Envelope& envelope, std::string content) = 0;
};

// MailHandler over node::LocalDelivery.
class LocalMailHandler final : public MailHandler {
 public:
  explicit LocalMailHandler(LocalDelivery& delivery) : delivery_(delivery) {}
  smtp::Reply check_recipient(const smtp::Path& to, const SessionFacts& facts) override;
  rt::Task<DeliveryResult> deliver(const smtp::Envelope& envelope, std::string content) override;

 private:
  LocalDelivery& delivery_;
};

struct SmtpServerConfig {
  std::vector<rt::Endpoint> listen;  // ListenerKind::smtp; port 0 = ephemeral (see bound_endpoints())
  std::vector<rt::Endpoint> listen_submission;   // ListenerKind::submission
  std::vector<rt::Endpoint> listen_submissions;  // ListenerKind::submissions (needs TLS)
  smtp::ServerConfig session;        // hostname, extensions, SmtpLimits (timeouts inside)
  ConnectionLimitsConfig connections;
  std::uint32_t read_buffer_bytes = 16 * 1024;  // fixed per connection
  Duration write_timeout = 5min;                // one write of replies to a slow reader
  Duration refuse_write_timeout = 2s;           // the 421 to a connection over the caps
  std::uint32_t refusals_in_flight_max = 64;    // beyond: refused connections just close
  // After our last reply we half-close and read (discarding) until the client closes, so
  // unread client bytes do not turn our close into an RST that destroys the final reply.
  Duration linger_timeout = 2s;
  std::uint32_t linger_bytes_max = 256 * 1024;
  Duration accept_retry_delay = 100ms;  // after EMFILE & co.
  Duration force_close_grace = 2s;      // after the forced 421, remaining streams are closed
  Duration tls_handshake_timeout = 60s;  // STARTTLS and port 465 (Postfix smtpd_starttls_timeout)
  // PLAIN/LOGIN without TLS from 127.0.0.1 / ::1 only (local scripts, tests); never remote.
  bool auth_plaintext_on_loopback = false;
  AuthGuardConfig auth_guard;
  LogBudgetConfig reject_log;  // "NOQUEUE: reject:" lines: burst and rate
};

// The listener's counters (connections, TLS handshakes, the buffered-input high-water mark
// the simulator checks against the limits) plus SMTP's own.
struct SmtpServerCounters : ListenerCounters {
  std::uint64_t messages_accepted = 0;  // 2xx to the end of data
  std::uint64_t messages_refused = 0;   // 4xx/5xx from the handler
  std::uint64_t auth_successes = 0;
  std::uint64_t auth_failures = 0;
  std::uint64_t rejections = 0;  // 4xx/5xx refusals (ev::Rejected), logged or not
};

class SmtpSessionAdapter;

class SmtpServer final : private ServiceProtocol {
 public:
  SmtpServer(rt::Env& env, SmtpServerConfig config, MailHandler& handler);
  ~SmtpServer() override;
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  // Binds every configured endpoint (listening, not accepting yet). On error nothing is
  // bound and the error names the endpoint. Optional: start() binds if it was not called.
  [[nodiscard]] Status bind();
  // Starts accepting (binding first if needed). On error nothing accepts. Call once.
  [[nodiscard]] Status start();

  // The bound endpoints, in configuration order: listen, listen_submission, then
  // listen_submissions (the real port when 0 was configured).
  const std::vector<rt::Endpoint>& bound_endpoints() const noexcept { return service_.bound(); }
  ListenerKind bound_kind(std::size_t i) const { return static_cast<ListenerKind>(service_.spec(i).kind); }

  // The certificate for STARTTLS and port 465; null = no TLS (STARTTLS not offered, and
  // start() refuses submissions listeners). Replaced on reload: connections keep the
  // context they started with.
  void set_tls(std::shared_ptr<tls::TlsContext> context) { service_.set_tls(std::move(context)); }
  const std::shared_ptr<tls::TlsContext>& tls() const noexcept { return service_.tls(); }
  AuthGuard& auth_guard() noexcept { return guard_; }

  // Graceful shutdown: stops accepting, asks every session to finish (an idle session gets
  // 421 now, one inside a transaction after it), at `deadline` forces 421 on the rest, and
  // force_close_grace later closes what is still open. Completes when every connection
  // and accept loop is gone. Call once.
  rt::Task<void> stop(Instant deadline) { return service_.stop(deadline); }

  std::size_t connection_count() const noexcept { return service_.connection_count(); }
  SmtpServerCounters counters() const noexcept;
  const SmtpServerConfig& config() const noexcept { return config_; }

 private:
  std::vector<ListenerSpec> listener_specs() const;
  friend class SmtpSessionAdapter;
  // ServiceProtocol
  std::unique_ptr<DrivenSession> open_session(Connection& connection, const ConnectionInfo& info) override;
  std::string refusal_bytes(std::string_view why) const override;
  // The session configuration for one connection: TLS offered or active, AUTH through the
  // guard, plaintext mechanisms on loopback when configured, AUTH required on submission.
  smtp::ServerConfig session_config(ListenerKind kind, const std::string& client_address) const;

  rt::Env& env_;
  SmtpServerConfig config_;
  MailHandler& handler_;
  AuthGuard guard_;
  std::optional<GuardedCredentials> guarded_credentials_;
  ListenerService service_;
  LogBudget reject_log_;
  SmtpServerCounters counters_;  // the SMTP part; the listener's part lives in service_
};

}  // namespace mail::node
