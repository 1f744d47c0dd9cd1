// WorkerPool: a fixed set of threads running blocking POSIX calls (disk, resolver) for
// the Env. Jobs run in submission order per free worker; a job must never block waiting
// for another job. shutdown() drops queued jobs uncalled and joins the workers.
// No Boost, no Env types: the callers post their own completions back to the executor.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/function.h"

namespace mail::io {

class WorkerPool {
 public:
  // Starts `threads` (>= 1) workers named `name` (at most 15 characters are kept).
  WorkerPool(std::size_t threads, std::string name);
  ~WorkerPool();  // shutdown()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Thread-safe. Jobs submitted after shutdown() are destroyed uncalled.
  void submit(UniqueFunction<void()> job);

  // Lets running jobs finish, destroys queued ones uncalled, joins. Idempotent; must not
  // be called from a worker.
  void shutdown() noexcept;

  std::size_t size() const noexcept { return threads_.size(); }

 private:
  void work(std::size_t index);

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<UniqueFunction<void()>> jobs_;
  bool stopping_ = false;
  std::string name_;
  std::vector<std::thread> threads_;
};

}  // namespace mail::io
