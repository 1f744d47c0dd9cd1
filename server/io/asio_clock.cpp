// rt::Clock over steady_clock/system_clock and asio::steady_timer. A Timer completes ok
// at its deadline, or Errc::canceled after cancel(), re-arming or destruction — decided
// by a generation number, so a cancel() that races an already-queued expiry still wins.
#include <boost/asio/steady_timer.hpp>

#include "io/asio_detail.h"

namespace mail::io::detail {
namespace {

class AsioTimer final : public rt::Timer {
 public:
  explicit AsioTimer(asio::io_context& io) : s_(std::make_shared<State>(io)) {}
  ~AsioTimer() override { cancel(); }
  AsioTimer(const AsioTimer&) = delete;
  AsioTimer& operator=(const AsioTimer&) = delete;

  void async_wait_until(Instant deadline, rt::Completion<void> done) override {
    MAIL_ASSERT(static_cast<bool>(done));
    const std::uint64_t gen = ++s_->gen;  // an earlier wait, if any, is now canceled
    s_->timer.expires_at(steady_from_instant(deadline));
    // The handler keeps the state (and so the asio timer) alive until it has run, even
    // when this Timer is destroyed first. asio never runs it inside async_wait.
    s_->timer.async_wait([s = s_, gen, done = std::move(done)](const error_code& ec) mutable {
      if (ec || s->gen != gen) {
        done(fail(Errc::canceled, "timer canceled"));
        return;
      }
      done(Result<void>{});
    });
  }

  void cancel() override {
    ++s_->gen;
    s_->timer.cancel();
  }

 private:
  struct State {
    explicit State(asio::io_context& io) : timer(io) {}
    asio::steady_timer timer;
    std::uint64_t gen = 0;
  };
  std::shared_ptr<State> s_;
};

class AsioClock final : public rt::Clock {
 public:
  explicit AsioClock(asio::io_context& io) : io_(io) {}
  Instant now() const override { return instant_from_steady(std::chrono::steady_clock::now()); }
  WallTime wall_now() const override {
    const auto since = std::chrono::system_clock::now().time_since_epoch();
    return WallTime{std::chrono::duration_cast<std::chrono::microseconds>(since).count()};
  }
  std::unique_ptr<rt::Timer> make_timer() override { return std::make_unique<AsioTimer>(io_); }

 private:
  asio::io_context& io_;
};

}  // namespace

std::unique_ptr<rt::Clock> make_asio_clock(asio::io_context& io) { return std::make_unique<AsioClock>(io); }

}  // namespace mail::io::detail
