// rt::Stream over a connected asio socket, TCP or Unix domain (one template, the same
// behaviour; only TCP gets TCP_NODELAY). Each direction has its own deadline timer and
// per-operation cancellation signal, so a read timeout cancels only the read (the session
// can still write its 421). Handlers hold the shared state, so destroying the Stream with
// operations pending is safe: they complete Errc::canceled later.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <type_traits>

#include "io/asio_detail.h"

namespace mail::io::detail {
namespace {

template <class Protocol>
struct StreamState {
  explicit StreamState(typename Protocol::socket s)
      : socket(std::move(s)), read_timer(socket.get_executor()), write_timer(socket.get_executor()) {}
  typename Protocol::socket socket;
  asio::steady_timer read_timer;
  asio::steady_timer write_timer;
  asio::cancellation_signal read_cancel;
  asio::cancellation_signal write_cancel;
  std::uint64_t read_gen = 0;  // identifies the pending read for its deadline handler
  std::uint64_t write_gen = 0;
  bool read_pending = false;
  bool write_pending = false;
  bool read_timed_out = false;
  bool write_timed_out = false;
  bool closed = false;
  rt::Endpoint local;
  rt::Endpoint remote;
};

// A failed operation's Errc: close() wins (canceled), then our own deadline (timeout).
Error op_error(bool closed, const error_code& ec, bool timed_out, std::string_view what) {
  if (closed) return Error{Errc::canceled, std::string(what) + ": stream closed"};
  if (timed_out && ec == asio::error::operation_aborted) return Error{Errc::timeout, std::string(what) + ": deadline passed"};
  return error_from_asio(ec, what);
}

template <class Protocol>
class AsioStream final : public rt::Stream {
 public:
  // `local` and `remote` are cached by the caller: after close() or a reset the socket can
  // no longer tell.
  AsioStream(typename Protocol::socket socket, rt::Endpoint local, rt::Endpoint remote)
      : s_(std::make_shared<StreamState<Protocol>>(std::move(socket))) {
    if constexpr (std::is_same_v<Protocol, tcp>) {
      error_code ec;
      s_->socket.set_option(tcp::no_delay(true), ec);  // SMTP/IMAP replies are small and interactive
    }
    set_cloexec(s_->socket.native_handle());
    s_->local = std::move(local);
    s_->remote = std::move(remote);
  }
  ~AsioStream() override { close(); }
  AsioStream(const AsioStream&) = delete;
  AsioStream& operator=(const AsioStream&) = delete;

  void async_read_some(std::span<std::byte> into, Instant deadline, rt::Completion<std::size_t> done) override {
    MAIL_ASSERT(!into.empty());
    MAIL_ASSERT(!s_->read_pending);
    MAIL_ASSERT(static_cast<bool>(done));
    s_->read_pending = true;
    s_->read_timed_out = false;
    const std::uint64_t gen = ++s_->read_gen;
    if (deadline != instant_max()) {
      s_->read_timer.expires_at(steady_from_instant(deadline));
      s_->read_timer.async_wait([s = s_, gen](const error_code& ec) {
        if (ec || !s->read_pending || s->read_gen != gen) return;
        s->read_timed_out = true;
        s->read_cancel.emit(asio::cancellation_type::all);
      });
    }
    s_->socket.async_read_some(asio::buffer(into.data(), into.size()),
                               asio::bind_cancellation_slot(s_->read_cancel.slot(), [s = s_, done = std::move(done)](
                                                                                       const error_code& ec, std::size_t n) mutable {
                                 s->read_pending = false;
                                 s->read_timer.cancel();
                                 // Bytes that arrived win over a deadline that fired in the same turn.
                                 if (!ec) {
                                   MAIL_ASSERT(n > 0);
                                   done(n);
                                   return;
                                 }
                                 done(fail(op_error(s->closed, ec, s->read_timed_out, "read")));
                               }));
  }

  void async_write_all(std::span<const std::byte> bytes, Instant deadline, rt::Completion<void> done) override {
    MAIL_ASSERT(!s_->write_pending);
    MAIL_ASSERT(static_cast<bool>(done));
    s_->write_pending = true;
    s_->write_timed_out = false;
    const std::uint64_t gen = ++s_->write_gen;
    if (deadline != instant_max()) {
      s_->write_timer.expires_at(steady_from_instant(deadline));
      s_->write_timer.async_wait([s = s_, gen](const error_code& ec) {
        if (ec || !s->write_pending || s->write_gen != gen) return;
        s->write_timed_out = true;
        // async_write only honours terminal cancellation: part of the bytes may be sent,
        // so the stream is unusable for writing afterwards (the caller closes it).
        s->write_cancel.emit(asio::cancellation_type::terminal);
      });
    }
    asio::async_write(s_->socket, asio::buffer(bytes.data(), bytes.size()),
                      asio::bind_cancellation_slot(s_->write_cancel.slot(), [s = s_, done = std::move(done)](
                                                                                 const error_code& ec, std::size_t) mutable {
                        s->write_pending = false;
                        s->write_timer.cancel();
                        if (!ec) {
                          done(Result<void>{});
                          return;
                        }
                        done(fail(op_error(s->closed, ec, s->write_timed_out, "write")));
                      }));
  }

  void shutdown_send() override {
    error_code ec;
    s_->socket.shutdown(asio::socket_base::shutdown_send, ec);  // ENOTCONN after a reset: nothing to do
  }

  void close() override {
    if (s_->closed) return;
    s_->closed = true;
    s_->read_timer.cancel();
    s_->write_timer.cancel();
    error_code ec;
    s_->socket.close(ec);  // pending read/write complete operation_aborted -> canceled
  }

  rt::Endpoint local_endpoint() const override { return s_->local; }
  rt::Endpoint remote_endpoint() const override { return s_->remote; }

 private:
  std::shared_ptr<StreamState<Protocol>> s_;
};

}  // namespace

std::unique_ptr<rt::Stream> make_asio_stream(tcp::socket socket) {
  error_code ec;
  rt::Endpoint local, remote;
  if (auto ep = socket.local_endpoint(ec); !ec) local = endpoint_from_asio(ep);
  if (auto ep = socket.remote_endpoint(ec); !ec) remote = endpoint_from_asio(ep);
  return std::make_unique<AsioStream<tcp>>(std::move(socket), std::move(local), std::move(remote));
}

std::unique_ptr<rt::Stream> make_asio_stream(unix_stream::socket socket, rt::Endpoint local, rt::Endpoint remote) {
  MAIL_ASSERT(rt::is_unix_endpoint(local));
  MAIL_ASSERT(rt::is_unix_endpoint(remote));
  return std::make_unique<AsioStream<unix_stream>>(std::move(socket), std::move(local), std::move(remote));
}

}  // namespace mail::io::detail
