// Task<T>: a lazy, single-await C++20 coroutine that runs on whatever thread resumes it
// (Env completions resume it on the Env's executor). `co_await task` starts the child and
// resumes the parent when it finishes (symmetric transfer, so deep chains do not grow the
// stack). spawn() starts a detached root task. No exceptions: an escaping one aborts.
#pragma once

#include <coroutine>
#include <cstdlib>
#include <exception>
#include <optional>
#include <utility>

#include "core/assert.h"
#include "core/result.h"

namespace mail::rt {

template <class T>
class Task;

namespace detail {

struct FinalAwaiter {
  bool await_ready() const noexcept { return false; }
  template <class P>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) const noexcept {
    auto cont = h.promise().continuation;
    return cont ? cont : std::noop_coroutine();
  }
  void await_resume() const noexcept {}
};

struct PromiseBase {
  std::coroutine_handle<> continuation;
  std::suspend_always initial_suspend() const noexcept { return {}; }
  FinalAwaiter final_suspend() const noexcept { return {}; }
  [[noreturn]] void unhandled_exception() const noexcept { MAIL_ASSERT(false && "exception escaped a Task"); std::abort(); }
};

template <class T>
struct Promise : PromiseBase {
  std::optional<T> value;
  Task<T> get_return_object() noexcept;
  template <class U>
  void return_value(U&& v) { value.emplace(std::forward<U>(v)); }
};

template <>
struct Promise<void> : PromiseBase {
  Task<void> get_return_object() noexcept;
  void return_void() const noexcept {}
};

}  // namespace detail

template <class T = void>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::Promise<T>;
  using Handle = std::coroutine_handle<promise_type>;

  Task() = default;
  explicit Task(Handle h) noexcept : h_(h) {}
  Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Task& operator=(Task&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  bool valid() const noexcept { return static_cast<bool>(h_); }
  bool done() const noexcept { return h_ && h_.done(); }

  auto operator co_await() && noexcept {
    struct Awaiter {
      Handle h;
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> cont) noexcept {
        h.promise().continuation = cont;
        return h;
      }
      T await_resume() {
        if constexpr (!std::is_void_v<T>) {
          MAIL_ASSERT(h.promise().value.has_value());
          return std::move(*h.promise().value);
        }
      }
    };
    MAIL_ASSERT(h_);
    return Awaiter{h_};
  }

  // For spawn() and the test drivers: releases ownership of the frame.
  Handle release() noexcept { return std::exchange(h_, {}); }

 private:
  void reset() noexcept {
    if (h_) h_.destroy();
    h_ = {};
  }
  Handle h_{};
};

namespace detail {
template <class T>
Task<T> Promise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<Promise<T>>::from_promise(*this));
}
inline Task<void> Promise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<Promise<void>>::from_promise(*this));
}

// A self-destroying root coroutine used by spawn().
struct Detached {
  struct promise_type {
    Detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    [[noreturn]] void unhandled_exception() const noexcept { std::abort(); }
  };
};
inline Detached run_detached(Task<void> t) { co_await std::move(t); }
}  // namespace detail

// Starts `t` now, on the calling thread, until its first suspension. The frame frees
// itself when the task finishes.
inline void spawn(Task<void> t) { detail::run_detached(std::move(t)); }

// Awaits a callback-style Env operation: `co_await async_op<T>([&](Completion<T> c) {
// disk.async_read_file(path, std::move(c)); })`. Relies on the Env contract that
// completions never run inside the initiating call.
template <class T, class Start>
auto async_op(Start start) {
  struct Awaiter {
    Start start;
    std::optional<Result<T>> result;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      start([this, h](Result<T> r) mutable {
        result.emplace(std::move(r));
        h.resume();
      });
    }
    Result<T> await_resume() {
      MAIL_ASSERT(result.has_value());
      return std::move(*result);
    }
  };
  return Awaiter{std::move(start), std::nullopt};
}

}  // namespace mail::rt
