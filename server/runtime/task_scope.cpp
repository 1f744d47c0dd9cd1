// TaskScope root coroutine: registered before it first runs, unregisters and frees itself
// when the wrapped task finishes, or is destroyed by destroy_all().
#include "runtime/task_scope.h"

#include <cstdlib>

namespace mail::rt {

struct TaskScope::Root {
  struct promise_type {
    TaskScope* scope = nullptr;
    std::uint64_t id = 0;
    Root get_return_object() noexcept { return Root{std::coroutine_handle<promise_type>::from_promise(*this)}; }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    auto final_suspend() const noexcept {
      struct Final {
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<promise_type> h) const noexcept {
          h.promise().scope->finished(h.promise().id);
          h.destroy();
        }
        void await_resume() const noexcept {}
      };
      return Final{};
    }
    void return_void() const noexcept {}
    [[noreturn]] void unhandled_exception() const noexcept { std::abort(); }
  };
  std::coroutine_handle<promise_type> handle;
};

namespace {
TaskScope::Root run_root(Task<void> task) { co_await std::move(task); }
}  // namespace

void TaskScope::spawn(Task<void> task) {
  MAIL_ASSERT(task.valid());
  Root root = run_root(std::move(task));
  const std::uint64_t id = next_id_++;
  root.handle.promise().scope = this;
  root.handle.promise().id = id;
  roots_.emplace(id, root.handle);
  root.handle.resume();  // may finish (and unregister) right here
}

void TaskScope::destroy_all() noexcept {
  while (!roots_.empty()) {
    auto it = roots_.begin();
    auto h = it->second;
    roots_.erase(it);
    h.destroy();
  }
}

}  // namespace mail::rt
