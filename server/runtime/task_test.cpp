// Task<T>: chaining, values, spawn, and async_op resumption from a deferred completion.
#include "runtime/task.h"

#include <deque>
#include <gtest/gtest.h>

#include "core/function.h"
#include "runtime/env.h"

namespace mail::rt {
namespace {

Task<int> leaf(int v) { co_return v * 2; }
Task<int> middle(int v) {
  int a = co_await leaf(v);
  int b = co_await leaf(a);
  co_return a + b;
}

// A queue of deferred completions, standing in for an Env executor.
struct Queue {
  std::deque<UniqueFunction<void()>> jobs;
  void run() {
    while (!jobs.empty()) {
      auto j = std::move(jobs.front());
      jobs.pop_front();
      j();
    }
  }
};

TEST(Task, ChainsAndReturnsValues) {
  int out = 0;
  spawn([](int* o) -> Task<void> { *o = co_await middle(3); }(&out));
  EXPECT_EQ(out, 6 + 12);
}

TEST(Task, AsyncOpResumesFromDeferredCompletion) {
  Queue q;
  int got = -1;
  auto start_op = [&q](int v) {
    return async_op<int>([&q, v](Completion<int> c) {
      q.jobs.push_back([c = std::move(c), v]() mutable { c(Result<int>(v + 1)); });
    });
  };
  spawn([](auto op, int* out) -> Task<void> {
    auto r = co_await op(41);
    *out = r.value();
  }(start_op, &got));
  EXPECT_EQ(got, -1);  // not completed inline
  q.run();
  EXPECT_EQ(got, 42);
}

TEST(Task, ManySequentialAwaits) {
  // Symmetric transfer is a tail call only when optimising (GCC at -O0 nests frames), so
  // this stays at a depth a debug build's stack holds; Env completions always resume
  // from the executor on a fresh stack.
  int sum = 0;
  spawn([](int* s) -> Task<void> {
    for (int i = 0; i < 5000; ++i) *s += co_await leaf(1);
  }(&sum));
  EXPECT_EQ(sum, 10000);
}

}  // namespace
}  // namespace mail::rt

#include "runtime/task_scope.h"

namespace mail::rt {
namespace {

TEST(TaskScope, FinishedTasksFreeThemselves) {
  TaskScope scope;
  int ran = 0;
  scope.spawn([](int* r) -> Task<void> { ++*r; co_return; }(&ran));
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(scope.live(), 0u);
}

TEST(TaskScope, DestroyAllDestroysSuspendedFramesAndChildren) {
  // A suspended task whose completion never comes (a crashed host): destroy_all() must
  // run the destructors of its locals and of the child it awaits, without resuming it.
  struct Probe {
    int* destroyed;
    ~Probe() { ++*destroyed; }
  };
  std::deque<UniqueFunction<void()>> never_run;
  int destroyed = 0;
  bool resumed = false;
  auto child = [](std::deque<UniqueFunction<void()>>* q, int* d) -> Task<int> {
    Probe p{d};
    auto r = co_await async_op<int>([q](Completion<int> c) { q->push_back([c = std::move(c)]() mutable { c(Result<int>(1)); }); });
    co_return r.value();
  };
  {
    TaskScope scope;
    scope.spawn([](auto make_child, auto* q, int* d, bool* resumed_flag) -> Task<void> {
      Probe p{d};
      (void)co_await make_child(q, d);
      *resumed_flag = true;
    }(child, &never_run, &destroyed, &resumed));
    EXPECT_EQ(scope.live(), 1u);
    never_run.clear();  // the Env drops pending completions first
    scope.destroy_all();
    EXPECT_EQ(scope.live(), 0u);
  }
  EXPECT_EQ(destroyed, 2);
  EXPECT_FALSE(resumed);
}

}  // namespace
}  // namespace mail::rt
