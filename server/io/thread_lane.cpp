// ThreadLane: a WorkerPool of one thread plus a liveness flag for posted completions.
#include "io/thread_lane.h"

#include <utility>

#include "core/assert.h"

namespace mail::io {

ThreadLane::ThreadLane(rt::Executor& executor, std::string name) : executor_(executor), pool_(1, std::move(name)) {}

ThreadLane::~ThreadLane() {
  // Completions already posted check the flag on the executor thread, which is this one.
  alive_->store(false);
  pool_.shutdown();
}

void ThreadLane::run(UniqueFunction<void()> job, rt::Completion<void> done) {
  MAIL_ASSERT(job);
  MAIL_ASSERT(done);
  pool_.submit([ex = &executor_, alive = alive_, job = std::move(job), done = std::move(done)]() mutable {
    job();
    // Destroy the job (and what it captured) on the lane's thread, before `done` may run.
    job = nullptr;
    ex->post([alive, done = std::move(done)]() mutable {
      if (alive->load()) done(Status{});
    });
  });
}

}  // namespace mail::io
