// ImapSessionAdapter: the IMAP application side of one connection. It runs a sans-IO
// imap::ServerSession under the generic node::Connection driver and answers its events:
// a mailbox command as a job against the MailStore (commands.h), a login through the
// AuthGuard (failures after its delay; success opens the user's mailbox), and IDLE by
// subscribing to the store's change notifications (RFC 2177: new mail and flag changes
// are pushed within one notification, no polling). Env only. Internal to ImapServer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "node/connection.h"
#include "node/driven_session.h"
#include "node/imap/commands.h"
#include "node/imap_server.h"
#include "proto/imap/server_session.h"
#include "runtime/env.h"

namespace mail::node {

class ImapSessionAdapter final : public DrivenSession {
 public:
  ImapSessionAdapter(ImapServer& server, Connection& connection, imap::SessionConfig config, Instant now);
  ~ImapSessionAdapter() override;

  std::size_t feed(std::string_view in, Instant now) override { return session_.feed(in, now); }
  void feed_eof(Instant now) override { session_.feed_eof(now); }
  std::optional<proto::Output> poll_output() override { return session_.poll_output(); }
  std::optional<Instant> poll_timeout() const override { return session_.poll_timeout(); }
  void handle_timeout(Instant now) override { session_.handle_timeout(now); }
  void tls_established(Instant now) override { session_.tls_established(now); }
  void compress_established(Instant now) override { session_.compress_established(now); }
  void shutdown(Instant now, bool force) override { session_.shutdown(now, force); }
  bool closed() const override { return session_.closed(); }
  bool dispatch_events(Instant now) override;
  std::size_t buffered_bytes() const override { return session_.buffered_bytes(); }
  std::string_view state_name() const override { return imap::to_string(session_.state()); }
  std::string summary() const override { return "commands=" + std::to_string(commands_); }

 private:
  void on_auth(const imap::ev::Auth& auth, Instant now);
  rt::Task<Connection::JobResult> execute(std::uint64_t id, imap::Command command);
  // SessionContext::send_now of the command running (running_id_).
  rt::Task<bool> send_now(std::string lines);
  rt::Task<Connection::JobResult> login(std::uint64_t id, std::string user);
  rt::Task<Connection::JobResult> refuse_after(std::uint64_t id, Instant at);
  // IDLE: changes are told as they happen; the end waits for a push in flight.
  void start_idle(std::uint64_t id);
  void on_store_change();
  rt::Task<Connection::JobResult> push_changes();
  rt::Task<Connection::JobResult> end_idle(std::uint64_t id, bool done);

  ImapServer& server_;
  Connection& connection_;
  imap::ServerSession session_;
  imapsrv::SessionContext ctx_;
  std::unique_ptr<rt::Timer> auth_timer_;
  std::unique_ptr<store::ChangeSubscription> subscription_;  // while IDLE runs
  bool push_running_ = false;
  bool push_again_ = false;
  std::uint64_t idle_end_id_ = 0;  // DONE arrived while a push ran: the push ends IDLE
  bool idle_end_done_ = true;
  std::uint64_t commands_ = 0;
  std::uint64_t running_id_ = 0;  // the command execute() runs (0: none)
  // This session's place in ImapServer::sessions_by_user_ip_ (after a login).
  std::pair<std::string, std::string> user_ip_;
  bool counted_ = false;
  void release_user_ip();
};

}  // namespace mail::node
