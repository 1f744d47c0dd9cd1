// SmtpConnection: the driver of one SMTP connection — the loop of STYLE.md habit 1 around
// a sans-IO smtp::ServerSession. It owns the stream, a fixed read buffer and the timers;
// it feeds bytes, drains poll_output()/poll_event() after every session call, coalesces
// replies into one write per round, honours Pause/Close, arms poll_timeout(), and answers
// events through the MailHandler. Env only (no Asio, no clock but env.clock()).
// Internal to SmtpServer; lives in the coroutine frame of SmtpServer::run_connection.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "node/smtp_server.h"
#include "node/wakeup.h"
#include "proto/smtp/server_session.h"
#include "runtime/env.h"
#include "runtime/task.h"

namespace mail::node {

class SmtpConnection {
 public:
  SmtpConnection(SmtpServer& server, std::unique_ptr<rt::Stream> stream, std::uint64_t id, ListenerKind kind);
  SmtpConnection(const SmtpConnection&) = delete;
  SmtpConnection& operator=(const SmtpConnection&) = delete;

  // Runs the connection to its end: the stream is closed and no operation, timer or
  // delivery of this connection is in flight when it completes.
  rt::Task<void> run();

  // From SmtpServer::stop(): ask the session to shut down (graceful, or forced 421).
  void request_shutdown(bool force);
  // From SmtpServer::stop() after the force grace: close the stream now.
  void abort();

  std::uint64_t id() const noexcept { return id_; }
  const std::string& client() const noexcept { return client_; }

 private:
  struct Delivered {
    smtp::EventId id = 0;
    DeliveryResult result;
    std::string log_line;  // transaction_log_line(): "<id>: from=<..> to=<..> size=N result=.."
  };

  rt::Task<void> pump();   // step + drain until nothing moves, then one write
  rt::Task<void> drain();  // poll_event / poll_output until both are empty
  bool step();             // at most one session call (complete/shutdown/timeout/feed/eof)
  rt::Task<void> flush();  // write everything queued in wbuf_ (one write)
  void on_event(smtp::Event& event);
  rt::Task<void> deliver(smtp::ev::Message message);
  // TLS: the handshake on port 465 before the greeting, or after "220 Ready to start TLS".
  // Replaces stream_ with a TlsStream; false when the handshake failed (the stream is closed).
  rt::Task<bool> handshake(std::string initial_ciphertext);
  rt::Task<void> start_tls();
  // AUTH verdicts: 235 at once; a failure is answered after the AuthGuard's delay.
  void on_auth(const smtp::ev::Auth& auth);
  rt::Task<void> answer_after(smtp::EventId id, smtp::Reply reply, Instant at);
  void apply_wakeups();  // turn completed reads and timer expiries into state
  void schedule_io();    // keep one read and the session (or linger) timer armed
  void enter_closing(std::string_view why);
  void close_stream();
  bool finished() const noexcept;
  void log_transaction(const Delivered& d, std::string_view note);

  SmtpServer& server_;
  rt::Env& env_;
  std::unique_ptr<rt::Stream> stream_;
  std::unique_ptr<rt::Timer> timer_;        // session poll_timeout()
  std::unique_ptr<rt::Timer> pause_timer_;  // out::Pause
  std::optional<smtp::ServerSession> session_;
  std::uint64_t id_;
  ListenerKind kind_;
  std::string client_;
  std::shared_ptr<tls::TlsContext> tls_context_;  // the server's at accept time (reload-safe)
  bool tls_start_pending_ = false;                // STARTTLS accepted, handshake not yet run
  Wakeup wakeup_;

  // Input: a fixed buffer; bytes [0, input_len_) were read but not yet taken by feed().
  std::unique_ptr<char[]> input_;
  std::size_t input_len_ = 0;
  bool read_in_flight_ = false;
  std::optional<Result<std::size_t>> read_result_;
  bool peer_done_ = false;  // EOF or error seen: no more reads
  bool peer_error_ = false;
  bool eof_fed_ = false;

  // Session timer.
  std::optional<Instant> timer_armed_at_;
  std::uint32_t timer_waits_ = 0;
  bool timer_fired_ = false;
  bool timeout_due_ = false;  // the timer or a read deadline passed: re-check poll_timeout()

  // Deliveries run as child tasks so reading and shutdown stay responsive meanwhile.
  std::uint32_t deliveries_in_flight_ = 0;
  std::deque<Delivered> delivered_;

  // Delayed AUTH failure verdicts (one at a time: the session waits for it).
  std::unique_ptr<rt::Timer> auth_timer_;
  bool auth_delay_in_flight_ = false;
  std::deque<std::pair<smtp::EventId, smtp::Reply>> verdicts_;

  bool shutdown_requested_ = false;
  bool force_requested_ = false;
  bool shutdown_sent_ = false;
  bool force_sent_ = false;
  bool aborted_ = false;

  std::string wbuf_;  // replies of this round, written as one write
  bool write_failed_ = false;
  bool stream_closed_ = false;
  bool closing_ = false;
  bool linger_started_ = false;
  Instant linger_deadline_{};
  std::size_t linger_bytes_ = 0;
  std::string close_reason_;
  std::uint32_t transactions_ = 0;
};

}  // namespace mail::node
