// Internal to mail::io (includes Boost.Asio): the rt::Listener both AsioNet listeners share,
// TCP (asio_net.cpp) and Unix domain (asio_unix_net.cpp). It owns the accept/close logic;
// the protocol's state supplies what differs. Handlers own the shared state, so closing or
// destroying a listener with an accept pending is safe: the accept completes
// Errc::canceled. Not a public header.
#pragma once

#include <memory>
#include <utility>

#include "core/assert.h"
#include "io/asio_detail.h"

namespace mail::io::detail {

// `State` has `Socket` (the accepted socket type), `acceptor` (its asio acceptor), `closed`,
// `accept_pending`, `local` (the endpoint local_endpoint() reports), and two members:
//   std::unique_ptr<rt::Stream> wrap(Socket accepted);  // the accepted socket as a Stream
//   void after_close();                                  // once, after the acceptor closed
template <class State>
class AsioListener final : public rt::Listener {
 public:
  explicit AsioListener(std::shared_ptr<State> s) : s_(std::move(s)) { MAIL_ASSERT(s_ != nullptr); }
  ~AsioListener() override { close(); }
  AsioListener(const AsioListener&) = delete;
  AsioListener& operator=(const AsioListener&) = delete;

  void async_accept(rt::Completion<std::unique_ptr<rt::Stream>> done) override {
    MAIL_ASSERT(!s_->accept_pending);
    MAIL_ASSERT(static_cast<bool>(done));
    s_->accept_pending = true;
    s_->acceptor.async_accept([s = s_, done = std::move(done)](const error_code& ec, typename State::Socket socket) mutable {
      s->accept_pending = false;
      if (s->closed) {
        done(fail(Errc::canceled, "accept: listener closed"));
        return;
      }
      // EMFILE/ENFILE come out as Errc::unavailable: the caller backs off and retries.
      if (ec) {
        done(fail(error_from_asio(ec, "accept")));
        return;
      }
      done(s->wrap(std::move(socket)));
    });
  }

  rt::Endpoint local_endpoint() const override { return s_->local; }

  void close() override {
    if (s_->closed) return;
    s_->closed = true;
    error_code ec;
    s_->acceptor.close(ec);
    s_->after_close();
  }

 private:
  std::shared_ptr<State> s_;
};

}  // namespace mail::io::detail
