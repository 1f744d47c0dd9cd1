// AsyncMutex: mutual exclusion between coroutines on the Env's executor thread (one
// account's rescans and index commits must not interleave). `auto g = co_await m.lock();`
// suspends until the mutex is free; the Guard unlocks when destroyed. FIFO; the next
// waiter is resumed through the executor, never from inside unlock(). A waiter whose frame
// is destroyed (Env teardown) leaves the queue, and passes the mutex on if it had been
// handed it. Not thread-safe: the executor thread only.
#pragma once

#include <coroutine>
#include <deque>
#include <memory>

#include "core/assert.h"
#include "runtime/env.h"

namespace mail::store::index {

class AsyncMutex {
 public:
  explicit AsyncMutex(rt::Executor& ex) : ex_(ex) {}
  AsyncMutex(const AsyncMutex&) = delete;
  AsyncMutex& operator=(const AsyncMutex&) = delete;
  ~AsyncMutex() { *alive_ = false; }

  class Guard {
   public:
    Guard() = default;
    explicit Guard(AsyncMutex* m) : m_(m) {}
    Guard(Guard&& o) noexcept : m_(o.m_) { o.m_ = nullptr; }
    Guard& operator=(Guard&& o) noexcept {
      if (this != &o) {
        if (m_ != nullptr) m_->unlock();
        m_ = o.m_;
        o.m_ = nullptr;
      }
      return *this;
    }
    ~Guard() {
      if (m_ != nullptr) m_->unlock();
    }

   private:
    AsyncMutex* m_ = nullptr;
  };

  struct Waiter {
    std::coroutine_handle<> handle;
    bool granted = false;
  };

  class Awaiter {
   public:
    explicit Awaiter(AsyncMutex& m) : m_(m), w_(std::make_shared<Waiter>()) {}
    Awaiter(const Awaiter&) = delete;
    ~Awaiter() {
      // Destroyed while queued or handed the mutex but never resumed (teardown).
      w_->handle = {};
      if (queued_ && !resumed_ && *alive_) {
        if (w_->granted) m_.unlock();
        else std::erase(m_.waiters_, w_);
      }
    }
    bool await_ready() noexcept {
      if (m_.locked_) return false;
      m_.locked_ = true;
      return true;
    }
    void await_suspend(std::coroutine_handle<> h) {
      w_->handle = h;
      queued_ = true;
      m_.waiters_.push_back(w_);
    }
    Guard await_resume() noexcept {
      resumed_ = true;
      MAIL_ASSERT(m_.locked_);
      return Guard(&m_);
    }

   private:
    AsyncMutex& m_;
    std::shared_ptr<Waiter> w_;
    std::shared_ptr<bool> alive_ = m_.alive_;
    bool queued_ = false;
    bool resumed_ = false;
  };

  Awaiter lock() { return Awaiter(*this); }
  bool locked() const noexcept { return locked_; }

 private:
  void unlock() {
    MAIL_ASSERT(locked_);
    if (waiters_.empty()) {
      locked_ = false;
      return;
    }
    // Hand over directly (stays locked), resume later from the executor.
    std::shared_ptr<Waiter> next = waiters_.front();
    waiters_.pop_front();
    next->granted = true;
    ex_.post([next, alive = alive_] {
      if (*alive && next->handle) next->handle.resume();
    });
  }

  rt::Executor& ex_;
  bool locked_ = false;
  std::deque<std::shared_ptr<Waiter>> waiters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mail::store::index
