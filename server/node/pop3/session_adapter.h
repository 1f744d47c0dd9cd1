// Pop3SessionAdapter: the POP3 application side of one connection. It runs a sans-IO
// pop3::ServerSession under the generic node::Connection driver and answers its events:
// a login through the AuthGuard (failures after its delay; success takes the maildrop lock
// and snapshots INBOX), RETR/TOP by reading the message from the MailStore and streaming it
// in chunks (Connection::deliver), QUIT's UPDATE by expunging the marked uids durably
// before +OK. The lock is released when the connection ends. Env only. Internal to
// Pop3Server.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "node/connection.h"
#include "node/driven_session.h"
#include "node/pop3_server.h"
#include "proto/pop3/server_session.h"
#include "runtime/env.h"

namespace mail::node {

class Pop3SessionAdapter final : public DrivenSession {
 public:
  Pop3SessionAdapter(Pop3Server& server, Connection& connection, pop3::SessionConfig config, Instant now);
  ~Pop3SessionAdapter() override;

  std::size_t feed(std::string_view in, Instant now) override { return session_.feed(in, now); }
  void feed_eof(Instant now) override { session_.feed_eof(now); }
  std::optional<proto::Output> poll_output() override { return session_.poll_output(); }
  std::optional<Instant> poll_timeout() const override { return session_.poll_timeout(); }
  void handle_timeout(Instant now) override { session_.handle_timeout(now); }
  void tls_established(Instant now) override { session_.tls_established(now); }
  void shutdown(Instant now, bool force) override { session_.shutdown(now, force); }
  bool closed() const override { return session_.closed(); }
  bool dispatch_events(Instant now) override;
  std::size_t buffered_bytes() const override { return session_.buffered_bytes(); }
  std::string_view state_name() const override { return pop3::to_string(session_.state()); }
  std::string summary() const override {
    return "retrieved=" + std::to_string(retrieved_) + " deleted=" + std::to_string(deleted_);
  }

  // The bytes of one streamed chunk of RETR (IMAP FETCH streams in the same size).
  static constexpr std::size_t kStreamChunkBytes = 512 * 1024;
  // A login that finds the maildrop locked retries for up to kLockWaitTries * kLockWaitStep.
  static constexpr int kLockWaitTries = 20;
  static constexpr Duration kLockWaitStep = 50ms;

 private:
  void on_auth(const pop3::ev::Auth& auth, Instant now);
  rt::Task<Connection::JobResult> login(std::uint64_t id, std::string mailbox);
  rt::Task<Connection::JobResult> refuse_after(std::uint64_t id, Instant at);
  rt::Task<Connection::JobResult> retrieve(std::uint64_t id, std::uint32_t uid);
  rt::Task<Connection::JobResult> update(std::uint64_t id, std::vector<std::uint32_t> uids);
  void release_lock();

  Pop3Server& server_;
  Connection& connection_;
  pop3::ServerSession session_;
  std::unique_ptr<rt::Timer> auth_timer_;
  std::string mailbox_;      // after login: the locked maildrop's owner
  bool locked_ = false;
  bool want_more_ = true;    // the last streamed chunk's answer (TOP may need no more)
  std::uint64_t retrieved_ = 0;
  std::uint64_t deleted_ = 0;
};

}  // namespace mail::node
