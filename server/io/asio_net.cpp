// rt::Net over asio: TCP listeners (SO_REUSEADDR, IPV6_V6ONLY, backlog 1024, port 0 =
// ephemeral) and outgoing connects with a deadline; "unix:<path>" endpoints go to
// asio_unix_net.cpp. Like streams, handlers own their shared state, so closing or
// destroying a Listener with an accept pending is safe (asio_listener.h).
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "io/asio_detail.h"
#include "io/asio_listener.h"

namespace mail::io::detail {
namespace {

constexpr int kListenBacklog = 1024;  // the kernel clamps it to net.core.somaxconn

// The TCP side of AsioListener (asio_listener.h): streams get TCP_NODELAY and their
// endpoints from the kernel; closing leaves nothing behind.
struct ListenerState {
  using Socket = tcp::socket;
  explicit ListenerState(asio::io_context& io) : acceptor(io) {}
  std::unique_ptr<rt::Stream> wrap(tcp::socket socket) { return make_asio_stream(std::move(socket)); }
  void after_close() noexcept {}
  tcp::acceptor acceptor;
  bool closed = false;
  bool accept_pending = false;
  rt::Endpoint local;
};

struct ConnectState {
  explicit ConnectState(asio::io_context& io) : socket(io), timer(io) {}
  tcp::socket socket;
  asio::steady_timer timer;
  bool connecting = true;
  bool timed_out = false;
};

class AsioNet final : public rt::Net {
 public:
  explicit AsioNet(asio::io_context& io) : io_(io) {}

  Result<std::unique_ptr<rt::Listener>> listen(const rt::Endpoint& at) override {
    if (rt::is_unix_endpoint(at)) return listen_unix(io_, at);
    error_code ec;
    const auto addr = asio::ip::make_address(at.address, ec);
    if (ec) return fail(Errc::invalid, "listen: not an IP address: " + at.address);
    const tcp::endpoint ep(addr, at.port);
    const std::string what = "listen on " + rt::Endpoint{at.address, at.port}.to_string();
    auto s = std::make_shared<ListenerState>(io_);
    if (s->acceptor.open(ep.protocol(), ec); ec) return fail(error_from_asio(ec, what));
    set_cloexec(s->acceptor.native_handle());
    if (s->acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec) return fail(error_from_asio(ec, what));
    // "::" then means IPv6 only, whatever net.ipv6.bindv6only says; listen on 0.0.0.0 too
    // for IPv4 (the explicit, nginx-style behaviour).
    if (addr.is_v6()) {
      if (s->acceptor.set_option(asio::ip::v6_only(true), ec); ec) return fail(error_from_asio(ec, what));
    }
    if (s->acceptor.bind(ep, ec); ec) return fail(error_from_asio(ec, what));
    if (s->acceptor.listen(kListenBacklog, ec); ec) return fail(error_from_asio(ec, what));
    const auto bound = s->acceptor.local_endpoint(ec);
    if (ec) return fail(error_from_asio(ec, what));
    s->local = endpoint_from_asio(bound);
    return std::unique_ptr<rt::Listener>(std::make_unique<AsioListener<ListenerState>>(std::move(s)));
  }

  void async_connect(const rt::Endpoint& to, Instant deadline, rt::Completion<std::unique_ptr<rt::Stream>> done) override {
    MAIL_ASSERT(static_cast<bool>(done));
    if (rt::is_unix_endpoint(to)) return connect_unix(io_, to, deadline, std::move(done));
    const std::string what = "connect " + to.to_string();
    error_code ec;
    const auto addr = asio::ip::make_address(to.address, ec);
    if (ec) return post_failure(io_, Error{Errc::invalid, what + ": not an IP address"}, std::move(done));
    const tcp::endpoint ep(addr, to.port);
    auto st = std::make_shared<ConnectState>(io_);
    if (st->socket.open(ep.protocol(), ec); ec) return post_failure(io_, error_from_asio(ec, what), std::move(done));
    set_cloexec(st->socket.native_handle());
    if (deadline != instant_max()) {
      st->timer.expires_at(steady_from_instant(deadline));
      st->timer.async_wait([st](const error_code& tec) {
        if (tec || !st->connecting) return;
        st->timed_out = true;
        error_code ignored;
        st->socket.close(ignored);  // aborts the connect
      });
    }
    st->socket.async_connect(ep, [st, what, done = std::move(done)](const error_code& cec) mutable {
      st->connecting = false;
      st->timer.cancel();
      // A deadline that fired in the same turn closed the socket: report the timeout even
      // if the connect itself had succeeded.
      if (st->timed_out) {
        done(fail(Errc::timeout, what + ": deadline passed"));
        return;
      }
      if (cec) {
        done(fail(error_from_asio(cec, what)));
        return;
      }
      done(make_asio_stream(std::move(st->socket)));
    });
  }

 private:
  asio::io_context& io_;
};

}  // namespace

void post_failure(asio::io_context& io, Error e, rt::Completion<std::unique_ptr<rt::Stream>> done) {
  // Never complete inside the initiating call (rt::Env contract).
  asio::post(io, [e = std::move(e), done = std::move(done)]() mutable { done(fail(std::move(e))); });
}

std::unique_ptr<rt::Net> make_asio_net(asio::io_context& io) { return std::make_unique<AsioNet>(io); }

}  // namespace mail::io::detail
