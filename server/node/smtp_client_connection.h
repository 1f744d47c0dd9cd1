// SmtpClientConnection: the driver of one outbound SMTP connection — the loop of STYLE.md
// habit 1 around a sans-IO smtp::ClientSession, for the relay's delivery agent and the
// simulator's clients. It writes what the session sends, upgrades the stream on STARTTLS
// (RFC 3207 §4), reads with the session's deadline (RFC 5321 §4.5.3.2) and hands every
// event to the caller's hooks. Env only: no Asio, no clock but env.clock(), no log of its
// own (callers log through the hooks); its Env calls are one write per out::Send, the
// handshake, one read per round — the simulator's trace digests depend on that order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/time.h"
#include "node/wakeup.h"
#include "proto/smtp/client_session.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "tls/context.h"
#include "tls/engine.h"

namespace mail::node {

struct SmtpClientOptions {
  smtp::ClientConfig session;
  // Each write must finish by now + write_timeout; unset: session.timeouts.data_block (RFC
  // 5321 §4.5.3.2.5, per write). After a failed write the connection is given up.
  std::optional<Duration> write_timeout;
  // The STARTTLS handshake must finish by now + this; unset: session.timeouts.tls_handshake.
  std::optional<Duration> tls_handshake_timeout;
  // Client context for STARTTLS; required when session.use_starttls is set.
  std::shared_ptr<tls::TlsContext> tls_context;
  std::string tls_server_name;  // SNI, and the name the server's certificate must carry
  std::size_t read_buffer_bytes = 16 * 1024;
};

class SmtpClientConnection;

// What before_write() decides about one write: how many of its bytes go out, and whether
// the connection is then closed without a word (the simulator's abrupt hang-up).
struct WritePlan {
  std::size_t bytes = 0;
  bool close_after = false;
};

// The caller's side of a connection. Every hook runs on the Env's thread, inside run().
class SmtpClientHooks {
 public:
  virtual ~SmtpClientHooks() = default;
  // Every session event in order: SessionReady, TransactionResult (exactly one per
  // submitted transaction, whatever happens), Closed. May submit() or quit() (reuse).
  virtual void on_event(SmtpClientConnection& conn, smtp::ClientEvent event) = 0;
  // The session has nothing to do (ready, nothing queued, no QUIT asked): submit() the next
  // transaction, quit(), or hold() while the caller prepares the next transaction (reads its
  // content) and submit()s or quit()s later from outside the hooks. Doing none of them quits.
  virtual void on_idle(SmtpClientConnection& /*conn*/) {}
  // A STARTTLS handshake ended (ok: TLS from here on; else the connection is given up).
  virtual void on_tls(SmtpClientConnection& /*conn*/, const Result<tls::ev::HandshakeDone>& /*result*/) {}
  // Before each write of `bytes`: how much of it to write, and whether to close after it.
  virtual WritePlan before_write(const SmtpClientConnection& /*conn*/, std::string_view bytes) {
    return WritePlan{bytes.size(), false};
  }
  // before_write() asked to close: its bytes are written, the stream is still open.
  virtual void on_hang_up(const SmtpClientConnection& /*conn*/) {}
  // feed() took `taken` of the `offered` bytes read (fewer breaks the session's contract).
  virtual void on_feed(const SmtpClientConnection& /*conn*/, std::size_t /*offered*/, std::size_t /*taken*/) {}
  // Outputs and events are drained: a point to sample the session (statistics).
  virtual void after_round(const SmtpClientConnection& /*conn*/) {}
};

class SmtpClientConnection {
 public:
  // `stream` is connected; the session starts now, waiting for the server's 220.
  // `hooks` must outlive the connection.
  SmtpClientConnection(rt::Env& env, std::unique_ptr<rt::Stream> stream, SmtpClientOptions options,
                       SmtpClientHooks& hooks);
  SmtpClientConnection(const SmtpClientConnection&) = delete;
  SmtpClientConnection& operator=(const SmtpClientConnection&) = delete;

  // Queues a transaction, before run() or from a hook while it runs (not after run()
  // ended). Its one TransactionResult reaches on_event().
  smtp::TxId submit(smtp::MailTransaction tx);
  // QUIT once every queued transaction is finished (before run() or from a hook).
  // Also callable from outside the hooks while the connection holds (see hold()).
  void quit();
  // From on_idle(): keep the connection open and read nothing until the next submit() or
  // quit(), which may then come from another task (the relay reads a message's content
  // first). Meant for short waits: the server's idle timeout still runs.
  void hold();

  // Drives the session to its end: when it completes the stream is closed, no operation
  // is in flight and every submitted transaction has had its result. Call once; the
  // connection must outlive the task.
  rt::Task<void> run();

  const smtp::ClientSession& session() const noexcept { return session_; }
  std::uint64_t bytes_sent() const noexcept { return bytes_sent_; }  // written or attempted
  // True once the unfinished transactions are being failed because before_write() closed
  // the connection: the TransactionResults that follow are those (local, 451).
  bool hung_up() const noexcept { return hung_up_; }

 private:
  rt::Task<void> drain_output();  // write / STARTTLS / close until the session has no output
  void drain_events();
  bool idle() const noexcept;
  void close_stream();
  void release_hold();  // submit()/quit(): end a hold() and resume run()

  rt::Env& env_;
  std::unique_ptr<rt::Stream> stream_;
  SmtpClientOptions options_;
  SmtpClientHooks& hooks_;
  smtp::ClientSession session_;
  const Duration write_timeout_;
  const Duration tls_handshake_timeout_;
  std::uint64_t bytes_sent_ = 0;
  bool quit_requested_ = false;
  bool poked_ = false;      // submit()/quit() since the round began: drain before reading
  bool running_ = false;
  bool ended_ = false;      // run() returned: nothing may be submitted any more
  bool finished_ = false;   // the stream was closed (out::Close or a hang-up): stop
  bool closed_by_hook_ = false;  // before_write() asked to close, and it was closed
  bool hung_up_ = false;         // ... and the unfinished transactions are being failed
  bool stream_closed_ = false;
  bool holding_ = false;  // hold(): wait for submit()/quit() instead of reading
  Wakeup wakeup_;         // submit()/quit() while holding resume run()
};

// The client side of STARTTLS (RFC 3207 §4): wraps `stream` in a client TlsStream (SNI and
// certificate name `server_name`) and runs the handshake by `deadline`. On failure the
// stream is closed and the error returned; the caller then gives the session feed_eof().
rt::Task<Result<tls::ev::HandshakeDone>> client_tls_handshake(rt::Env& env, std::unique_ptr<rt::Stream>& stream,
                                                              tls::TlsContext& context, std::string server_name,
                                                              Instant deadline);

}  // namespace mail::node
