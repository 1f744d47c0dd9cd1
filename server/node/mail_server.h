// MailServer: the one server assembly. `cloudsdial serve` (over AsioEnv), the Python
// embedded server (AsioEnv on a thread) and every simulated host (SimEnv) build exactly
// this: the user directory (configured users and every login: one user model), the
// indexed mail store (Maildir files + SQLite index), local delivery, the users file for
// AUTH, the SMTP service with its smtp / submission / submissions listeners and, when
// configured, the IMAP, POP3 and HTTP services. What differs
// between them stays outside: pid file and signals (serve), a recording handler (Python),
// the boot/crash cycle (simulator). Env only: no Asio, no clock but env.clock(), no globals.
#pragma once

#include <functional>
#include <optional>
#include <memory>
#include <string>

#include "core/result.h"
#include "node/control_server.h"
#include "node/http/admin_routes.h"
#include "node/http_server.h"
#include "node/http/jmap_service.h"
#include "node/imap_server.h"
#include "node/local_delivery.h"
#include "node/pop3_server.h"
#include "node/queue_manager.h"
#include "node/relay_handler.h"
#include "node/smtp_server.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "store/directory.h"
#include "store/index/indexed_store.h"
#include "store/maildir.h"
#include "store/user_db.h"
#include "tls/context.h"
#include "tls/sasl_crypto.h"

namespace mail::node {

struct MailServerConfig {
  std::string data_dir;               // mail lives in <data_dir>/mail/<user>/Maildir
  store::DirectoryConfig directory;   // local domains, users and their aliases
  SmtpServerConfig smtp;              // listeners, session, limits; empty hostname = env's
  // The SCRAM credentials of the logins (`cloudsdial user add`). Set: AUTH is offered (as
  // the session's policy allows) and the file is read at start and re-read every
  // users_poll_interval (0: only at start and on reload_users()). Empty: no AUTH at all.
  std::string users_path;
  Duration users_poll_interval = 5s;
  std::shared_ptr<tls::TlsContext> tls;  // STARTTLS and implicit TLS; null: neither
  // The relay policy (trusted networks, own addresses; local domains come from
  // `directory`) and the submission checks; applies with or without outbound delivery.
  RelayHandlerConfig relay;
  // Set: the outbound queue under <data_dir>/queue and its delivery agent run (relay for
  // authenticated and trusted clients, DSNs). Null: no recipient outside the local domains
  // is accepted from anyone. data_dir, hostname, policy and crypto are filled in here; a
  // null client_tls gets an opportunistic (unverified, RFC 7435) client context.
  std::optional<QueueManagerConfig> outbound;
  // Set: the IMAP service (listeners, limits; quota from `quota_*` below).
  std::optional<ImapServerConfig> imap;
  // Set: the POP3 service (listeners, limits); the maildrop is each user's INBOX.
  std::optional<Pop3ServerConfig> pop3;
  // Set: the HTTP service (listeners, limits) with GET /metrics (node/http/metrics.h) and
  // JMAP (node/http/jmap_service.h).
  std::optional<HttpServerConfig> http;
  // With `http` and an admin user: the admin REST API under /admin/api/ (admin_routes.h).
  AdminApiConfig admin;
  // Per-user quota of the mail store (RFC 9208; 0 = none): IMAP APPEND and COPY past it fail.
  std::uint64_t quota_bytes = 0;
  std::uint64_t quota_messages = 0;
  // Serve the administration socket <data_dir>/control.sock (the queue CLI). `serve` sets
  // it; the simulator and the Python embedded server do not (their callers inspect the
  // queue through the API).
  bool control_socket = false;
};

class MailServer {
 public:
  // Lets a caller put its own MailHandler in front of the production one (the Python
  // embedded server records what it accepts). Returns the handler the SMTP service will use.
  using HandlerWrapper = std::function<std::unique_ptr<MailHandler>(MailHandler& production)>;

  MailServer(rt::Env& env, MailServerConfig config, const HandlerWrapper& wrap = {});
  MailServer(const MailServer&) = delete;
  MailServer& operator=(const MailServer&) = delete;

  // Claims the listening ports now (before anything is created on disk); optional, start()
  // does it otherwise. The error names the endpoint.
  [[nodiscard]] Status bind();
  // Reads the users (when configured) and starts polling them, ensures every configured
  // user's mailbox (so a configured user always has a Maildir), then listens. An error
  // says what failed ("cannot create the mailbox of demo: ..." / "cannot listen on ...");
  // then nothing listens. Call once.
  rt::Task<Status> start();
  // Graceful shutdown of the listeners (SmtpServer::stop) and of the users poll. Call once,
  // after start() completed (whatever it returned).
  rt::Task<void> stop(Instant deadline);

  // Re-reads the users file now; `announce` logs the count even when nothing changed.
  rt::Task<void> reload_users(bool announce);
  void set_tls(std::shared_ptr<tls::TlsContext> context);

  bool ready() const noexcept { return ready_; }  // start() succeeded and listens

  // Every bound listener, in start order: the endpoint (the real port for port 0) and
  // what it serves ("smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s",
  // "http", "https"). For `serve`'s "listening on" lines and the status request.
  struct BoundListener {
    std::string endpoint;
    std::string label;
  };
  std::vector<BoundListener> listeners() const;
  // Open connections per service now.
  struct SessionCounts {
    std::size_t smtp = 0, imap = 0, pop3 = 0, http = 0;
    std::size_t total() const noexcept { return smtp + imap + pop3 + http; }
  };
  SessionCounts session_counts() const;
  // The control socket's "status" answer: {"ok":true,"uptime_seconds":..,"listeners":[..],
  // "sessions":{"smtp":..,"imap":..,"pop3":..,"http":..,"total":..},"logins":..,
  // "queue":{"messages":..,"active_connections":..} or null without outbound delivery}.
  std::string status_json() const;
  SmtpServer& smtp() noexcept { return smtp_; }
  const SmtpServer& smtp() const noexcept { return smtp_; }
  store::MailStore& mailboxes() noexcept { return store_; }
  const store::IndexedStore& indexed_store() const noexcept { return store_; }  // stats, commit latencies
  ImapServer* imap() noexcept { return imap_.get(); }  // null unless configured
  Pop3Server* pop3() noexcept { return pop3_.get(); }  // null unless configured
  HttpServer* http() noexcept { return http_.get(); }  // null unless configured
  JmapService* jmap() noexcept { return jmap_.get(); }  // null unless HTTP is configured
  QueueManager* outbound() noexcept { return queue_.get(); }  // null without outbound delivery
  ControlServer* control() noexcept { return control_.get(); }  // null unless control_socket
  AdminApi* admin() noexcept { return admin_.get(); }  // null unless HTTP with an admin user
  const store::LiveUserDb& logins() const noexcept { return users_; }  // the users file's logins
  const MailServerConfig& config() const noexcept { return config_; }

 private:
  // The SMTP configuration with AUTH wired to our users and crypto (when configured).
  static SmtpServerConfig wire(const MailServerConfig& config, tls::OpenSslCrypto& crypto, store::LiveUserDb& users);
  std::unique_ptr<QueueManager> make_queue();
  // The address `user` sends from (JMAP Identity): the login itself when it is an address,
  // else user@<first local domain> (the hostname without local domains).
  std::string address_of_user(std::string_view user) const;
  rt::Task<void> poll_users();
  // Every configured user's and every login's mailbox exists (one user model).
  rt::Task<Status> ensure_mailboxes();

  rt::Env& env_;
  MailServerConfig config_;
  tls::OpenSslCrypto crypto_;
  store::LiveUserDb users_;
  std::string users_text_;  // the last text swapped in: unchanged files are not re-parsed
  store::Directory directory_;
  store::IndexedStore store_;
  LocalDelivery delivery_;
  std::unique_ptr<QueueManager> queue_;
  RelayMailHandler relay_handler_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<MailHandler> wrapped_handler_;
  SmtpServer smtp_;
  std::unique_ptr<ImapServer> imap_;
  std::unique_ptr<Pop3Server> pop3_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<JmapService> jmap_;
  std::unique_ptr<AdminApi> admin_;
  std::unique_ptr<rt::Timer> users_timer_;
  bool polling_ = false;
  Instant started_at_{};  // when start() began listening (uptime)
  bool ready_ = false;
  bool stopping_ = false;
};

}  // namespace mail::node
