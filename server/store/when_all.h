// when_all(): start several callback-style Env operations at once and resume the awaiting
// coroutine when every one has completed, with their statuses in start order. Relies on
// the Env contract that completions never run inside the initiating call and always on
// the Env's single executor thread. No I/O of its own.
#pragma once

#include <coroutine>
#include <cstddef>
#include <vector>

#include "core/function.h"
#include "core/result.h"
#include "runtime/env.h"

namespace mail::store {

using StartOp = UniqueFunction<void(rt::Completion<void>)>;

inline auto when_all(std::vector<StartOp> ops) {
  struct Awaiter {
    std::vector<StartOp> ops;
    std::vector<Status> results{};
    std::size_t left = 0;
    std::coroutine_handle<> waiter{};

    bool await_ready() const noexcept { return ops.empty(); }
    void await_suspend(std::coroutine_handle<> h) {
      waiter = h;
      left = ops.size();
      results.resize(ops.size());
      for (std::size_t i = 0; i < ops.size(); ++i) {
        ops[i]([this, i](Status s) {
          results[i] = std::move(s);
          MAIL_ASSERT(left > 0);
          if (--left == 0) waiter.resume();
        });
      }
    }
    std::vector<Status> await_resume() {
      results.resize(ops.size());  // the empty case skipped await_suspend
      return std::move(results);
    }
  };
  return Awaiter{std::move(ops)};
}

}  // namespace mail::store
