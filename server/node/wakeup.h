// Wakeup: a level-triggered, single-waiter signal for node driver loops. notify() from any
// completion sets a latch and (if a coroutine waits) posts its resumption to the Env's
// executor — never resumes inline, so notifiers cannot re-enter the waiter. Single-threaded
// like the Env; no I/O, no clock. The waiter must outlive every notify() it can receive.
#pragma once

#include <coroutine>
#include <utility>

#include "core/assert.h"
#include "runtime/env.h"

namespace mail::node {

class Wakeup {
 public:
  explicit Wakeup(rt::Executor& executor) : executor_(executor) {}
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;

  // Sets the latch; resumes the waiting coroutine (later, from the executor) if any.
  void notify() {
    pending_ = true;
    if (!waiter_ || posted_) return;
    posted_ = true;
    executor_.post([this] {
      posted_ = false;
      pending_ = false;
      auto h = std::exchange(waiter_, {});
      if (h) h.resume();
    });
  }

  // `co_await wakeup.wait()`: returns at once if notified since the last wait, otherwise
  // after the next notify(). Spurious returns are allowed; callers re-check their state.
  auto wait() {
    struct Awaiter {
      Wakeup& w;
      bool await_ready() const noexcept {
        if (!w.pending_) return false;
        w.pending_ = false;
        return true;
      }
      void await_suspend(std::coroutine_handle<> h) noexcept {
        MAIL_ASSERT(!w.waiter_);
        w.waiter_ = h;
      }
      void await_resume() const noexcept {}
    };
    return Awaiter{*this};
  }

 private:
  rt::Executor& executor_;
  std::coroutine_handle<> waiter_{};
  bool pending_ = false;
  bool posted_ = false;
};

}  // namespace mail::node
