// SmtpConnection: one connection's driver loop around smtp::ServerSession (see header).
// Must not: touch Asio or the OS clock, hold more than the fixed read buffer plus what the
// session itself bounds, resume the session from inside a completion (everything goes
// through the Wakeup, so the session is only ever called from this coroutine).
#include "node/smtp_connection.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <variant>

#include "core/assert.h"
#include "node/tls_stream.h"
#include "runtime/await.h"
#include "runtime/buggify.h"

namespace mail::node {

SmtpConnection::SmtpConnection(SmtpServer& server, std::unique_ptr<rt::Stream> stream, std::uint64_t id,
                               ListenerKind kind)
    : server_(server),
      env_(server.env_),
      stream_(std::move(stream)),
      timer_(env_.clock().make_timer()),
      pause_timer_(env_.clock().make_timer()),
      id_(id),
      kind_(kind),
      tls_context_(server.tls()),
      wakeup_(env_.executor()),
      input_(std::make_unique<char[]>(server.config_.read_buffer_bytes)),
      auth_timer_(env_.clock().make_timer()) {
  MAIL_ASSERT(stream_ != nullptr);
  MAIL_ASSERT(server.config_.read_buffer_bytes > 0);
  client_ = stream_->remote_endpoint().address;
}

void SmtpConnection::request_shutdown(bool force) {
  if (force) {
    force_requested_ = true;
  } else {
    shutdown_requested_ = true;
  }
  wakeup_.notify();
}

void SmtpConnection::abort() {
  aborted_ = true;
  close_stream();
  wakeup_.notify();
}

void SmtpConnection::close_stream() {
  if (stream_closed_) return;
  stream_closed_ = true;
  stream_->close();  // pending read/write complete (canceled) later, from the executor
}

rt::Task<void> SmtpConnection::run() {
  const rt::Endpoint remote = stream_->remote_endpoint();
  smtp::SessionInfo info;
  info.remote_address = remote.address;
  info.remote_port = remote.port;
  info.local_address = stream_->local_endpoint().address;
  env_.log().write(rt::LogLevel::info, "smtp[" + std::to_string(id_) + "]: connect from " + remote.to_string() + " (" +
                                           std::string(to_string(kind_)) + ")");
  if (kind_ == ListenerKind::submissions) {
    // RFC 8314 §3.3: TLS from the first byte, then the greeting inside it.
    MAIL_ASSERT(tls_context_ != nullptr);
    if (!co_await handshake({})) {
      env_.log().write(rt::LogLevel::info, "smtp[" + std::to_string(id_) + "]: disconnect from " + client_ + " (" +
                                               close_reason_ + ")");
      co_return;
    }
    info.tls = true;
  }
  session_.emplace(server_.session_config(kind_, client_), std::move(info), env_.clock().now());

  for (;;) {
    co_await pump();
    if (finished()) break;
    if (tls_start_pending_ && !closing_) {
      co_await start_tls();
      continue;
    }
    schedule_io();
    co_await wakeup_.wait();
    apply_wakeups();
  }

  // Teardown: nothing of ours may still be in flight when the frame goes away.
  close_stream();
  if (timer_waits_ > 0) timer_->cancel();
  if (auth_delay_in_flight_) auth_timer_->cancel();
  while (read_in_flight_ || timer_waits_ > 0 || deliveries_in_flight_ > 0 || auth_delay_in_flight_) {
    co_await wakeup_.wait();
    apply_wakeups();
  }
  MAIL_ASSERT(delivered_.empty());
  env_.log().write(rt::LogLevel::info, "smtp[" + std::to_string(id_) + "]: disconnect from " + client_ + " transactions=" +
                                           std::to_string(transactions_) + " (" + close_reason_ + ")");
}

rt::Task<void> SmtpConnection::pump() {
  for (;;) {
    co_await drain();
    if (!step()) break;
  }
  co_await flush();
  if (closing_ && !linger_started_) {
    linger_started_ = true;
    if (peer_done_ || write_failed_ || aborted_ || stream_closed_) {
      peer_done_ = true;
      close_stream();
    } else {
      // Half-close, then read and discard until the client closes (bounded in time and
      // bytes): closing with unread input would send an RST that can destroy the reply.
      stream_->shutdown_send();
      linger_deadline_ = env_.clock().now() + server_.config_.linger_timeout;
    }
  }
}

rt::Task<void> SmtpConnection::drain() {
  for (;;) {
    bool progress = false;
    while (auto event = session_->poll_event()) {
      progress = true;
      on_event(*event);
    }
    while (auto output = session_->poll_output()) {
      progress = true;
      if (auto* send = std::get_if<smtp::out::Send>(&*output)) {
        // Nothing may follow a Close on the wire; a well-behaved session sends nothing.
        if (!closing_) wbuf_ += send->bytes;
      } else if (auto* pause = std::get_if<smtp::out::Pause>(&*output)) {
        // Error-reply delay: what precedes goes out now, what follows after `until`.
        co_await flush();
        if (!closing_ && !aborted_ && pause->until > env_.clock().now()) {
          (void)co_await rt::sleep_until(*pause_timer_, pause->until);
        }
      } else if (std::holds_alternative<smtp::out::StartTls>(*output)) {
        if (tls_context_ == nullptr) {
          enter_closing("STARTTLS requested but TLS is not configured");
        } else {
          // CVE-2011-0411: whatever the client sent after STARTTLS in plaintext is dropped
          // (the session dropped its own copy); the handshake runs after the 220 is out.
          tls_start_pending_ = true;
          input_len_ = 0;
        }
      } else {
        MAIL_ASSERT(std::holds_alternative<smtp::out::Close>(*output));
        enter_closing("closed by session");
      }
    }
    if (!progress) break;
  }
  if (!closing_ && session_->closed()) enter_closing("session closed");
}

bool SmtpConnection::step() {
  const Instant now = env_.clock().now();
  if (closing_ || session_->closed()) {
    // The session is over: deliveries that finish now are only logged (the client is gone
    // or was told 421; a retry may duplicate, never lose).
    input_len_ = 0;
    while (!delivered_.empty()) {
      log_transaction(delivered_.front(), " (session closed before the reply)");
      delivered_.pop_front();
    }
    verdicts_.clear();
    return false;
  }
  if (!verdicts_.empty()) {
    auto [id, reply] = std::move(verdicts_.front());
    verdicts_.pop_front();
    session_->complete(id, std::move(reply), now);
    return true;
  }
  if (tls_start_pending_) return false;  // nothing is fed between STARTTLS and the handshake
  if (!delivered_.empty()) {
    Delivered d = std::move(delivered_.front());
    delivered_.pop_front();
    log_transaction(d, "");
    session_->complete(d.id, d.result.reply, now);
    return true;
  }
  if (force_requested_ && !force_sent_) {
    force_sent_ = true;
    shutdown_sent_ = true;
    session_->shutdown(now, true);
    return true;
  }
  if (shutdown_requested_ && !shutdown_sent_) {
    shutdown_sent_ = true;
    session_->shutdown(now, false);
    return true;
  }
  if (timeout_due_) {
    timeout_due_ = false;
    const auto deadline = session_->poll_timeout();
    if (deadline && *deadline <= now) {
      session_->handle_timeout(now);
      return true;
    }
  }
  if (input_len_ > 0) {
    const std::size_t taken = session_->feed(std::string_view(input_.get(), input_len_), now);
    MAIL_ASSERT(taken <= input_len_);
    server_.counters_.session_buffered_max =
        std::max<std::uint64_t>(server_.counters_.session_buffered_max, session_->buffered_bytes() + (input_len_ - taken));
    if (taken > 0) {
      // Keep the unconsumed tail at the front; it is fed again after the next verdict.
      std::memmove(input_.get(), input_.get() + taken, input_len_ - taken);
      input_len_ -= taken;
      return true;
    }
    if (deliveries_in_flight_ == 0) {
      // The session refuses input with no verdict pending: it would never take it.
      env_.log().write(rt::LogLevel::error, "smtp[" + std::to_string(id_) + "]: session stalled in state " +
                                                std::string(smtp::to_string(session_->state())) + "; closing");
      enter_closing("session stalled");
    }
    return false;
  }
  if (peer_done_ && !eof_fed_) {
    eof_fed_ = true;
    session_->feed_eof(now);
    return true;
  }
  return false;
}

void SmtpConnection::on_event(smtp::Event& event) {
  const Instant now = env_.clock().now();
  if (auto* mail = std::get_if<smtp::ev::MailFrom>(&event)) {
    session_->complete(mail->id, server_.handler_.check_mail_from(mail->path, mail->params), now);
  } else if (auto* rcpt = std::get_if<smtp::ev::RcptTo>(&event)) {
    session_->complete(rcpt->id, server_.handler_.check_recipient(rcpt->path), now);
  } else if (auto* message = std::get_if<smtp::ev::Message>(&event)) {
    ++deliveries_in_flight_;
    ++transactions_;
    env_.tasks().spawn(deliver(std::move(*message)));
  } else if (auto* auth = std::get_if<smtp::ev::Auth>(&event)) {
    on_auth(*auth);
  } else if (auto* closed = std::get_if<smtp::ev::Closed>(&event)) {
    if (close_reason_.empty()) close_reason_ = closed->reason;
  }
  // Helo and TransactionReset are informational.
}

rt::Task<void> SmtpConnection::deliver(smtp::ev::Message message) {
  Delivered d;
  d.id = message.id;
  const std::uint64_t received_bytes = message.content.size();
  d.result = co_await server_.handler_.deliver(message.envelope, std::move(message.content));
  d.log_line = transaction_log_line(d.result.queue_id, message.envelope,
                                    d.result.size_bytes != 0 ? d.result.size_bytes : received_bytes, d.result.reply);
  delivered_.push_back(std::move(d));
  MAIL_ASSERT(deliveries_in_flight_ > 0);
  --deliveries_in_flight_;
  wakeup_.notify();
}

void SmtpConnection::log_transaction(const Delivered& d, std::string_view note) {
  if (d.result.reply.positive()) {
    ++server_.counters_.messages_accepted;
  } else {
    ++server_.counters_.messages_refused;
  }
  env_.log().write(d.result.reply.positive() ? rt::LogLevel::info : rt::LogLevel::warn,
                   "smtp[" + std::to_string(id_) + "]: " + d.log_line + " client=" + client_ + std::string(note));
}

rt::Task<void> SmtpConnection::flush() {
  if (wbuf_.empty()) co_return;
  const std::string bytes = std::move(wbuf_);
  wbuf_.clear();
  if (write_failed_ || stream_closed_ || peer_error_) co_return;
  const Instant deadline = env_.clock().now() + server_.config_.write_timeout;
  auto all = std::as_bytes(std::span(bytes.data(), bytes.size()));
  // BUGGIFY: replies split over two writes (clients must not depend on segment boundaries).
  if (all.size() > 1 && MAIL_BUGGIFY(env_, "smtp-connection.split-write")) {
    const std::size_t half = all.size() / 2;
    const auto head = all.first(half);  // a named local: GCC 12 and temporaries in co_await
    auto first = co_await rt::write_all(*stream_, head, deadline);
    if (!first.ok()) {
      write_failed_ = true;
      enter_closing("write failed: " + std::string(to_string(first.code())));
      co_return;
    }
    all = all.subspan(half);
  }
  auto written = co_await rt::write_all(*stream_, all, deadline);
  if (!written.ok()) {
    write_failed_ = true;
    enter_closing("write failed: " + std::string(to_string(written.code())));
  }
}

void SmtpConnection::apply_wakeups() {
  if (read_result_) {
    Result<std::size_t> r = std::move(*read_result_);
    read_result_.reset();
    if (r.ok()) {
      MAIL_ASSERT(*r > 0);
      MAIL_ASSERT(*r <= server_.config_.read_buffer_bytes);
      if (closing_) {
        linger_bytes_ += *r;  // discarded: the session is over
        if (linger_bytes_ >= server_.config_.linger_bytes_max) peer_done_ = true;
      } else {
        MAIL_ASSERT(input_len_ == 0);
        input_len_ = *r;
      }
    } else if (r.code() == Errc::timeout) {
      if (closing_) {
        peer_done_ = true;
      } else {
        timeout_due_ = true;
      }
    } else {
      peer_done_ = true;
      if (r.code() != Errc::eof && r.code() != Errc::canceled) {
        peer_error_ = true;
        if (close_reason_.empty()) close_reason_ = "read: " + std::string(to_string(r.code()));
      }
    }
  }
  if (timer_fired_) {
    timer_fired_ = false;
    if (closing_) {
      // Linger over: stop waiting for the client's FIN.
      peer_done_ = true;
      if (read_in_flight_) close_stream();
    } else {
      timeout_due_ = true;
    }
  }
}

void SmtpConnection::schedule_io() {
  const Instant now = env_.clock().now();
  if (closing_ && linger_started_ && !peer_done_ && now >= linger_deadline_) {
    peer_done_ = true;
    if (read_in_flight_) close_stream();
  }

  // One read at a time, into the whole buffer, only when the session took everything:
  // leftover input means it is waiting for a verdict (backpressure).
  if (!read_in_flight_ && !peer_done_ && !stream_closed_ && input_len_ == 0 && (!closing_ || linger_started_)) {
    Instant deadline = instant_max();
    if (closing_) {
      deadline = linger_deadline_;
    } else if (auto t = session_->poll_timeout()) {
      deadline = *t;
    }
    read_in_flight_ = true;
    auto into = std::as_writable_bytes(std::span(input_.get(), server_.config_.read_buffer_bytes));
    stream_->async_read_some(into, deadline, [this](Result<std::size_t> r) {
      read_in_flight_ = false;
      read_result_.emplace(std::move(r));
      wakeup_.notify();
    });
  }

  std::optional<Instant> want;
  if (closing_) {
    if (linger_started_ && !peer_done_) want = linger_deadline_;
  } else {
    want = session_->poll_timeout();
  }
  if (want == timer_armed_at_) return;
  if (!want) {
    timer_->cancel();
    timer_armed_at_.reset();
    return;
  }
  timer_armed_at_ = want;
  ++timer_waits_;
  // Re-arming cancels the earlier wait (it completes canceled and only counts down).
  timer_->async_wait_until(*want, [this, at = *want](Status s) {
    MAIL_ASSERT(timer_waits_ > 0);
    --timer_waits_;
    if (s.ok() && timer_armed_at_ == at) {
      timer_armed_at_.reset();
      timer_fired_ = true;
    }
    wakeup_.notify();
  });
}

void SmtpConnection::enter_closing(std::string_view why) {
  if (close_reason_.empty()) close_reason_ = std::string(why);
  closing_ = true;
}

bool SmtpConnection::finished() const noexcept {
  return closing_ && linger_started_ && peer_done_ && !read_in_flight_ && deliveries_in_flight_ == 0 && delivered_.empty() &&
         !auth_delay_in_flight_;
}

// ------------------------------------------------------------------------------ TLS

rt::Task<bool> SmtpConnection::handshake(std::string initial_ciphertext) {
  MAIL_ASSERT(tls_context_ != nullptr);
  MAIL_ASSERT(!read_in_flight_);
  auto tls = std::make_unique<TlsStream>(env_.executor(), std::move(stream_),
                                         std::make_unique<tls::TlsEngine>(*tls_context_, tls::Role::server),
                                         std::move(initial_ciphertext));
  TlsStream& t = *tls;
  stream_ = std::move(tls);
  const Instant deadline = env_.clock().now() + server_.config_.tls_handshake_timeout;
  auto done = co_await rt::async_op<tls::ev::HandshakeDone>(
      [&t, deadline](rt::Completion<tls::ev::HandshakeDone> c) { t.async_handshake(deadline, std::move(c)); });
  if (!done.ok()) {
    ++server_.counters_.tls_handshake_failures;
    env_.log().write(rt::LogLevel::info, "smtp[" + std::to_string(id_) + "]: TLS handshake failed with " + client_ +
                                             ": " + std::string(to_string(done.code())) + " " + done.error().detail);
    enter_closing("TLS handshake failed");
    peer_done_ = true;
    linger_started_ = true;
    close_stream();
    co_return false;
  }
  ++server_.counters_.tls_handshakes;
  env_.log().write(rt::LogLevel::info, "smtp[" + std::to_string(id_) + "]: TLS " + done->version + " " + done->cipher +
                                           " with " + client_);
  co_return true;
}

rt::Task<void> SmtpConnection::start_tls() {
  MAIL_ASSERT(tls_start_pending_);
  // A plain read may be in flight: what it brings arrived after the 220 was queued, so it
  // is the start of the TLS stream (or garbage that fails the handshake) — never commands.
  while (read_in_flight_ && !closing_) {
    co_await wakeup_.wait();
    apply_wakeups();
  }
  tls_start_pending_ = false;
  if (closing_ || peer_done_) {
    input_len_ = 0;
    co_return;  // pump() feeds the EOF / finishes the close
  }
  std::string initial(input_.get(), input_len_);
  input_len_ = 0;
  if (!co_await handshake(std::move(initial))) co_return;
  session_->tls_established(env_.clock().now());
}

// ------------------------------------------------------------------------------ AUTH

void SmtpConnection::on_auth(const smtp::ev::Auth& auth) {
  const Instant now = env_.clock().now();
  AuthGuard& guard = server_.guard_;
  const std::string who = "smtp[" + std::to_string(id_) + "]: AUTH " + auth.mechanism + " user=" +
                          (sasl::is_acceptable_username(auth.authcid) ? auth.authcid : std::string("<invalid>")) +
                          " client=" + client_;
  if (auth.success && !guard.ip_locked(client_, now)) {
    guard.record_success(auth.authcid);
    ++server_.counters_.auth_successes;
    env_.log().write(rt::LogLevel::info, who + " ok");
    session_->complete(auth.id, smtp::Reply::make(235, {2, 7, 0}, "Authentication successful"), now);
    return;
  }
  // A failure (or any attempt from a locked-out IP): the same reply whatever the reason,
  // after a delay that grows with the IP's failures — never faster, never telling.
  ++server_.counters_.auth_failures;
  const Duration delay = guard.record_failure(client_, auth.authcid, now);
  const bool locked = guard.ip_locked(client_, now);
  env_.log().write(rt::LogLevel::warn, who + " failed (" + std::string(sasl::to_string(auth.failure)) +
                                           (locked ? ", client locked out" : "") + ")");
  smtp::Reply reply = locked ? smtp::Reply::make(421, {4, 7, 0}, server_.config_.session.hostname +
                                                                    " Error: too many failed authentications")
                             : smtp::Reply::make(535, {5, 7, 8}, "Authentication credentials invalid");
  MAIL_ASSERT(!auth_delay_in_flight_);
  auth_delay_in_flight_ = true;
  env_.tasks().spawn(answer_after(auth.id, std::move(reply), now + delay));
}

rt::Task<void> SmtpConnection::answer_after(smtp::EventId id, smtp::Reply reply, Instant at) {
  (void)co_await rt::sleep_until(*auth_timer_, at);  // canceled at teardown: answered at once
  verdicts_.emplace_back(id, std::move(reply));
  auth_delay_in_flight_ = false;
  wakeup_.notify();
}

}  // namespace mail::node
