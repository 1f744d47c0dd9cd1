// SmtpClientConnection (see header): one straight-line coroutine that alternates "drain
// the session (writes, STARTTLS, close), hand out its events" with "read with the session's
// deadline". Must not: read a clock other than env.clock(), log, await two things at once,
// or read while the session still has output (a hook may have submitted). RFC 5321
// §4.5.3.2 timeouts come from the session; RFC 3207 §4 STARTTLS via node::TlsStream.
#include "node/smtp_client_connection.h"

#include <span>
#include <utility>
#include <variant>
#include <vector>

#include "core/assert.h"
#include "node/tls_stream.h"
#include "runtime/await.h"

namespace mail::node {

SmtpClientConnection::SmtpClientConnection(rt::Env& env, std::unique_ptr<rt::Stream> stream,
                                           SmtpClientOptions options, SmtpClientHooks& hooks)
    : env_(env),
      stream_(std::move(stream)),
      options_(std::move(options)),
      hooks_(hooks),
      session_(options_.session, env.clock().now()),
      write_timeout_(options_.write_timeout.value_or(options_.session.timeouts.data_block)),
      tls_handshake_timeout_(options_.tls_handshake_timeout.value_or(options_.session.timeouts.tls_handshake)),
      wakeup_(env.executor()) {
  MAIL_ASSERT(stream_ != nullptr);
  MAIL_ASSERT(options_.read_buffer_bytes > 0);
  // STARTTLS needs a context to upgrade with; a session that may ask for it without one
  // is a wiring error.
  MAIL_ASSERT(!options_.session.use_starttls || options_.tls_context != nullptr);
}

smtp::TxId SmtpClientConnection::submit(smtp::MailTransaction tx) {
  MAIL_ASSERT(!ended_);  // its result could never be handed out
  poked_ = true;
  release_hold();
  return session_.submit(std::move(tx), env_.clock().now());
}

void SmtpClientConnection::hold() {
  MAIL_ASSERT(!ended_);
  MAIL_ASSERT(idle());  // only from on_idle(): nothing else may be pending
  holding_ = true;
}

void SmtpClientConnection::release_hold() {
  if (!holding_) return;
  holding_ = false;
  wakeup_.notify();
}

void SmtpClientConnection::quit() {
  MAIL_ASSERT(!ended_);
  poked_ = true;
  release_hold();
  quit_requested_ = true;
  session_.quit(env_.clock().now());
}

bool SmtpClientConnection::idle() const noexcept {
  return !quit_requested_ && session_.state() == smtp::ClientState::ready && session_.pending_transactions() == 0;
}

void SmtpClientConnection::close_stream() {
  if (stream_closed_) return;
  stream_closed_ = true;
  stream_->close();
}

rt::Task<void> SmtpClientConnection::drain_output() {
  auto now = [this] { return env_.clock().now(); };
  while (!finished_) {
    auto out = session_.poll_output();
    if (!out) break;
    if (auto* send = std::get_if<smtp::out::Send>(&*out)) {
      std::string_view bytes = send->bytes;
      const WritePlan plan = hooks_.before_write(*this, bytes);
      MAIL_ASSERT(plan.bytes <= bytes.size());
      bytes = bytes.substr(0, plan.bytes);
      if (!bytes.empty()) {
        const auto span = std::as_bytes(std::span<const char>(bytes.data(), bytes.size()));
        auto w = co_await rt::write_all(*stream_, span, now() + write_timeout_);
        bytes_sent_ += bytes.size();
        if (!w) {
          // Part of the bytes may be gone: the stream is unusable for writing (io/ contract).
          session_.feed_eof(now());
          continue;
        }
      }
      if (plan.close_after) {
        hooks_.on_hang_up(*this);
        close_stream();
        closed_by_hook_ = true;
        finished_ = true;
      }
    } else if (std::holds_alternative<smtp::out::Close>(*out)) {
      close_stream();
      finished_ = true;
    } else {
      // out::StartTls: the 220 arrived and the session discards any cleartext after it.
      MAIL_ASSERT(options_.tls_context != nullptr);
      auto up = co_await client_tls_handshake(env_, stream_, *options_.tls_context, options_.tls_server_name,
                                              now() + tls_handshake_timeout_);
      hooks_.on_tls(*this, up);
      if (up) {
        session_.tls_established(now());
      } else {
        // client_tls_handshake closed the stream; the session's out::Close closes it again
        // (a no-op), as the simulator's clients always have.
        session_.feed_eof(now());
      }
    }
  }
}

void SmtpClientConnection::drain_events() {
  while (auto ev = session_.poll_event()) hooks_.on_event(*this, std::move(*ev));
}

rt::Task<void> SmtpClientConnection::run() {
  MAIL_ASSERT(!running_);
  running_ = true;
  auto now = [this] { return env_.clock().now(); };
  std::vector<std::byte> buf(options_.read_buffer_bytes);
  while (true) {
    poked_ = false;
    // Drain outputs and events after every session call (ClientSession contract).
    co_await drain_output();
    drain_events();
    hooks_.after_round(*this);
    if (finished_) break;
    if (session_.closed()) {
      close_stream();
      break;
    }
    if (idle()) {
      hooks_.on_idle(*this);
      if (idle() && !holding_) quit();
    }
    if (poked_) continue;  // a hook submitted or quit: its commands go out before we read
    if (holding_) {
      // Wait for the caller's submit()/quit() (spurious returns re-check).
      while (holding_) co_await wakeup_.wait();
      continue;
    }
    const Instant deadline = session_.poll_timeout().value_or(instant_max());
    auto r = co_await rt::read_some(*stream_, buf, deadline);
    if (r) {
      const std::size_t taken = session_.feed(std::string_view(reinterpret_cast<const char*>(buf.data()), *r), now());
      hooks_.on_feed(*this, *r, taken);
    } else if (r.code() == Errc::timeout) {
      session_.handle_timeout(now());
    } else {
      session_.feed_eof(now());
    }
  }
  if (closed_by_hook_ && !session_.closed()) {
    // The unfinished transactions may or may not have reached the server: each still gets
    // its one result (local 451), after the events that were already due.
    hung_up_ = true;
    session_.cancel(now(), "connection closed by the client");
    drain_events();
  }
  MAIL_ASSERT(stream_closed_);
  MAIL_ASSERT(session_.pending_transactions() == 0);
  ended_ = true;
}

rt::Task<Result<tls::ev::HandshakeDone>> client_tls_handshake(rt::Env& env, std::unique_ptr<rt::Stream>& stream,
                                                              tls::TlsContext& context, std::string server_name,
                                                              Instant deadline) {
  // Named locals, not temporaries in the co_await: GCC 12 (docs/ARCHITECTURE.md pitfalls).
  auto engine = std::make_unique<tls::TlsEngine>(context, tls::Role::client, std::move(server_name));
  std::string no_initial_bytes;
  auto done = co_await upgrade_to_tls(env.executor(), stream, std::move(engine), std::move(no_initial_bytes), deadline);
  if (!done.ok()) stream->close();
  co_return done;
}

}  // namespace mail::node
