// SmtpSessionAdapter: the SMTP application side of one connection. It runs a sans-IO
// smtp::ServerSession under the generic node::Connection driver and answers its events:
// MAIL and RCPT through the MailHandler at once, a message as a delivery job (the 250
// only once the handler says it is durable), AUTH through the AuthGuard (failures after
// its delay). Keeps the per-connection transaction count and the server's message and
// AUTH counters. Env only. Internal to SmtpServer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "node/connection.h"
#include "node/driven_session.h"
#include "node/smtp_server.h"
#include "proto/smtp/server_session.h"
#include "runtime/env.h"

namespace mail::node {

class SmtpSessionAdapter final : public DrivenSession {
 public:
  SmtpSessionAdapter(SmtpServer& server, Connection& connection, smtp::ServerConfig config, smtp::SessionInfo info,
                     ListenerKind listener, Instant now);

  std::size_t feed(std::string_view in, Instant now) override { return session_.feed(in, now); }
  void feed_eof(Instant now) override { session_.feed_eof(now); }
  std::optional<proto::Output> poll_output() override { return session_.poll_output(); }
  std::optional<Instant> poll_timeout() const override { return session_.poll_timeout(); }
  void handle_timeout(Instant now) override { session_.handle_timeout(now); }
  void tls_established(Instant now) override {
    tls_ = true;
    session_.tls_established(now);
  }
  void shutdown(Instant now, bool force) override { session_.shutdown(now, force); }
  bool closed() const override { return session_.closed(); }
  bool dispatch_events(Instant now) override;
  std::size_t buffered_bytes() const override { return session_.buffered_bytes(); }
  std::string_view state_name() const override { return smtp::to_string(session_.state()); }
  std::string summary() const override { return "transactions=" + std::to_string(transactions_); }

 private:
  void on_event(smtp::Event& event, Instant now);
  SessionFacts facts() const;  // for the handler's MAIL and RCPT verdicts
  void log_rejection(const smtp::ev::Rejected& rejected, Instant now);
  rt::Task<Connection::JobResult> deliver(smtp::ev::Message message);
  // AUTH verdicts: 235 at once; a failure is answered after the AuthGuard's delay.
  void on_auth(const smtp::ev::Auth& auth, Instant now);
  rt::Task<Connection::JobResult> answer_after(smtp::EventId id, smtp::Reply reply, Instant at);

  SmtpServer& server_;
  Connection& connection_;
  const ListenerKind listener_;
  bool tls_ = false;  // implicit TLS, or STARTTLS completed
  smtp::ServerSession session_;
  std::unique_ptr<rt::Timer> auth_timer_;  // delayed AUTH failure verdicts (one at a time)
  bool auth_delay_in_flight_ = false;
  std::uint32_t transactions_ = 0;
};

}  // namespace mail::node
