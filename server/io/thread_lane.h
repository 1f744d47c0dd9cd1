// ThreadLane: the production rt::BlockingLane: one dedicated thread (a WorkerPool of one)
// runs the lane's jobs in submission order; each `done` is posted to the Env's executor.
// Destruction (on the executor thread) drops queued jobs, waits for a running one, and
// suppresses every `done` of the lane not yet called, even one already posted.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "io/worker_pool.h"
#include "runtime/env.h"

namespace mail::io {

class ThreadLane final : public rt::BlockingLane {
 public:
  ThreadLane(rt::Executor& executor, std::string name);
  ~ThreadLane() override;
  ThreadLane(const ThreadLane&) = delete;
  ThreadLane& operator=(const ThreadLane&) = delete;

  void run(UniqueFunction<void()> job, rt::Completion<void> done) override;

 private:
  rt::Executor& executor_;
  // Read on the executor thread only (where the lane is destroyed and `done` runs).
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
  WorkerPool pool_;  // last: joined first
};

}  // namespace mail::io
