// TlsStream (see header): one pump() moves bytes between the user's pending operations,
// the engine and the inner stream after every event. At most one inner read and one inner
// write are in flight; user completions are always posted, never run inline. Must not:
// touch Asio or a clock, or keep unbounded buffers (the engine bounds its own, the inner
// read buffer is fixed, and queued ciphertext is bounded by what the user writes).
#include "node/tls_stream.h"

#include <cstring>
#include <optional>
#include <variant>

#include "core/assert.h"
#include "runtime/await.h"

namespace mail::node {

namespace {
constexpr std::size_t kInnerReadBytes = 17 * 1024;  // one full TLS record (RFC 8446 §5.2) and more
}

struct TlsStream::Core : std::enable_shared_from_this<TlsStream::Core> {
  Core(rt::Executor& ex, std::unique_ptr<rt::Stream> in, std::unique_ptr<tls::TlsEngine> eng)
      : executor(ex), inner(std::move(in)), engine(std::move(eng)), read_buf(std::make_unique<char[]>(kInnerReadBytes)) {}

  struct PendingRead {
    std::span<std::byte> into;
    Instant deadline;
    rt::Completion<std::size_t> done;
  };
  struct PendingWrite {
    std::span<const std::byte> rest;  // plaintext the engine has not taken yet
    Instant deadline;
    rt::Completion<void> done;
  };
  struct PendingHandshake {
    Instant deadline;
    rt::Completion<tls::ev::HandshakeDone> done;
  };

  rt::Executor& executor;
  std::unique_ptr<rt::Stream> inner;
  std::unique_ptr<tls::TlsEngine> engine;
  std::unique_ptr<char[]> read_buf;
  std::string backlog;        // ciphertext read but not yet taken by the engine
  std::string outq;           // ciphertext waiting for the inner write
  std::string writing;        // ciphertext of the inner write in flight
  bool inner_read_in_flight = false;
  bool inner_write_in_flight = false;
  bool inner_eof = false;     // the transport ended (EOF or error): no more reads
  std::optional<Error> failure;  // fatal: TLS failure, transport error or close()
  bool peer_closed = false;   // close_notify received
  bool want_fin = false;      // shutdown_send(): FIN after the close_notify is written
  bool fin_sent = false;
  std::optional<tls::ev::HandshakeDone> handshake;
  std::optional<PendingRead> user_read;
  std::optional<PendingWrite> user_write;
  std::optional<PendingHandshake> user_handshake;
  bool read_timed_out = false;  // the inner read hit its deadline

  template <class T>
  void post(rt::Completion<T> done, Result<T> r) {
    executor.post([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  }
  void post_void(rt::Completion<void> done, Status s) {
    executor.post([done = std::move(done), s = std::move(s)]() mutable { done(std::move(s)); });
  }

  void set_failure(Error e) {
    if (!failure) failure = std::move(e);
  }

  void drain_engine() {
    // Ciphertext out, events; the engine reports failures as events.
    std::string c = engine->poll_ciphertext();
    if (!c.empty()) outq += c;
    while (auto e = engine->poll_event()) {
      if (auto* done = std::get_if<tls::ev::HandshakeDone>(&*e)) {
        handshake = *done;
      } else if (auto* f = std::get_if<tls::ev::Failed>(&*e)) {
        set_failure(Error{Errc::invalid, "TLS: " + f->reason});
      } else {
        peer_closed = true;
      }
    }
    std::string more = engine->poll_ciphertext();  // an alert written while failing
    if (!more.empty()) outq += more;
  }

  Instant io_deadline() const {
    Instant d = instant_max();
    if (user_handshake) d = std::min(d, user_handshake->deadline);
    if (user_read) d = std::min(d, user_read->deadline);
    return d;
  }

  void pump() {
    // 1. Plaintext of the pending write into the engine; backlog ciphertext in.
    if (user_write && !failure) {
      while (!user_write->rest.empty()) {
        const std::string_view chunk(reinterpret_cast<const char*>(user_write->rest.data()), user_write->rest.size());
        const std::size_t n = engine->write_plaintext(chunk);
        if (n == 0) break;
        user_write->rest = user_write->rest.subspan(n);
        drain_engine();
      }
    }
    if (!backlog.empty() && !failure) {
      const std::size_t n = engine->feed_ciphertext(backlog);
      backlog.erase(0, n);
    }
    drain_engine();

    // 2. The handshake.
    if (user_handshake) {
      if (handshake) {
        auto h = std::move(*user_handshake);
        user_handshake.reset();
        post<tls::ev::HandshakeDone>(std::move(h.done), *handshake);
      } else if (failure || read_timed_out || inner_eof) {
        auto h = std::move(*user_handshake);
        user_handshake.reset();
        Error e = failure ? *failure
                          : read_timed_out ? Error{Errc::timeout, "TLS handshake timed out"}
                                         : Error{Errc::eof, "connection closed during the TLS handshake"};
        read_timed_out = false;
        post<tls::ev::HandshakeDone>(std::move(h.done), mail::fail(std::move(e)));
      }
    }

    // 3. A pending read: plaintext first, then the end states.
    if (user_read) {
      std::string p = engine->poll_plaintext(user_read->into.size());
      if (!p.empty()) {
        std::memcpy(user_read->into.data(), p.data(), p.size());
        auto r = std::move(*user_read);
        user_read.reset();
        post<std::size_t>(std::move(r.done), p.size());
      } else if (failure || peer_closed || inner_eof || read_timed_out) {
        auto r = std::move(*user_read);
        user_read.reset();
        Error e = failure ? *failure
                          : read_timed_out ? Error{Errc::timeout, "read timed out"} : Error{Errc::eof, "end of stream"};
        read_timed_out = false;
        post<std::size_t>(std::move(r.done), mail::fail(std::move(e)));
      }
    }

    // 4. Ciphertext out.
    if (!inner_write_in_flight && !outq.empty() && inner) {
      writing = std::move(outq);
      outq.clear();
      inner_write_in_flight = true;
      auto self = shared_from_this();
      const Instant deadline = user_write ? user_write->deadline : io_deadline();
      inner->async_write_all(std::as_bytes(std::span(writing.data(), writing.size())), deadline, [self](Status s) {
        self->inner_write_in_flight = false;
        self->writing.clear();
        if (!s.ok()) self->set_failure(s.error());
        self->pump();
      });
    }

    // 5. A pending write completes once its bytes are all on the wire.
    if (user_write) {
      const bool flushed = user_write->rest.empty() && engine->handshake_done() && outq.empty() && !inner_write_in_flight;
      if (failure || flushed) {
        auto w = std::move(*user_write);
        user_write.reset();
        post_void(std::move(w.done), failure ? Status(mail::fail(*failure)) : Status{});
      }
    }

    // 6. FIN after the close_notify went out.
    if (want_fin && !fin_sent && outq.empty() && !inner_write_in_flight && inner) {
      fin_sent = true;
      inner->shutdown_send();
    }

    // 7. Ciphertext in, while someone waits for it.
    const bool want_read = user_handshake || user_read;
    if (want_read && !inner_read_in_flight && !inner_eof && !failure && backlog.empty() && inner) {
      inner_read_in_flight = true;
      auto self = shared_from_this();
      auto into = std::as_writable_bytes(std::span(read_buf.get(), kInnerReadBytes));
      inner->async_read_some(into, io_deadline(), [self](Result<std::size_t> r) {
        self->inner_read_in_flight = false;
        if (r.ok()) {
          const std::string_view got(self->read_buf.get(), *r);
          const std::size_t n = self->engine->feed_ciphertext(got);
          if (n < got.size()) self->backlog.append(got.substr(n));
        } else if (r.code() == Errc::timeout) {
          self->read_timed_out = true;
        } else if (r.code() == Errc::eof) {
          self->inner_eof = true;
          self->engine->feed_eof();  // without close_notify: a truncation, reported as Failed
        } else {
          self->inner_eof = true;
          self->set_failure(r.error());
        }
        self->pump();
      });
    }
  }

  void cancel_all() {
    set_failure(Error{Errc::canceled, "closed"});
    if (inner) inner->close();
    pump();
  }
};

TlsStream::TlsStream(rt::Executor& executor, std::unique_ptr<rt::Stream> inner, std::unique_ptr<tls::TlsEngine> engine,
                     std::string initial_ciphertext)
    : core_(std::make_shared<Core>(executor, std::move(inner), std::move(engine))) {
  MAIL_ASSERT(core_->inner != nullptr);
  MAIL_ASSERT(core_->engine != nullptr);
  local_ = core_->inner->local_endpoint();
  remote_ = core_->inner->remote_endpoint();
  core_->backlog = std::move(initial_ciphertext);
}

TlsStream::~TlsStream() {
  // Pending user completions are destroyed uncalled (the Env contract for a destroyed
  // stream); inner operations still in flight keep the core (and its buffers) alive.
  core_->user_read.reset();
  core_->user_write.reset();
  core_->user_handshake.reset();
  core_->set_failure(Error{Errc::canceled, "destroyed"});
  core_->inner.reset();
}

void TlsStream::async_handshake(Instant deadline, rt::Completion<tls::ev::HandshakeDone> done) {
  MAIL_ASSERT(!core_->user_handshake);
  core_->user_handshake = Core::PendingHandshake{deadline, std::move(done)};
  core_->pump();
}

void TlsStream::async_read_some(std::span<std::byte> into, Instant deadline, rt::Completion<std::size_t> done) {
  MAIL_ASSERT(!core_->user_read);
  MAIL_ASSERT(!into.empty());
  core_->user_read = Core::PendingRead{into, deadline, std::move(done)};
  core_->pump();
}

void TlsStream::async_write_all(std::span<const std::byte> bytes, Instant deadline, rt::Completion<void> done) {
  MAIL_ASSERT(!core_->user_write);
  core_->user_write = Core::PendingWrite{bytes, deadline, std::move(done)};
  core_->pump();
}

void TlsStream::shutdown_send() {
  if (core_->want_fin) return;
  core_->want_fin = true;
  if (!core_->failure) core_->engine->close_notify();
  core_->drain_engine();
  core_->pump();
}

void TlsStream::close() { core_->cancel_all(); }

rt::Task<Result<tls::ev::HandshakeDone>> upgrade_to_tls(rt::Executor& executor, std::unique_ptr<rt::Stream>& stream,
                                                        std::unique_ptr<tls::TlsEngine> engine,
                                                        std::string initial_ciphertext, Instant deadline) {
  MAIL_ASSERT(stream != nullptr);
  MAIL_ASSERT(engine != nullptr);
  auto tls = std::make_unique<TlsStream>(executor, std::move(stream), std::move(engine), std::move(initial_ciphertext));
  TlsStream& t = *tls;
  stream = std::move(tls);
  co_return co_await rt::async_op<tls::ev::HandshakeDone>(
      [&t, deadline](rt::Completion<tls::ev::HandshakeDone> c) { t.async_handshake(deadline, std::move(c)); });
}

}  // namespace mail::node
