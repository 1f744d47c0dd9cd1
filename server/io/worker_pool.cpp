// WorkerPool: mutex + condition variable job queue over std::thread. Jobs are destroyed
// outside the lock, because a job's captures (completions, shared states) may take
// arbitrary time or locks to destroy.
#include "io/worker_pool.h"

#include <pthread.h>

#include <utility>

#include "core/assert.h"

namespace mail::io {

WorkerPool::WorkerPool(std::size_t threads, std::string name) : name_(std::move(name)) {
  MAIL_ASSERT(threads >= 1);
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this, i] { work(i); });
}

WorkerPool::~WorkerPool() { shutdown(); }

void WorkerPool::submit(UniqueFunction<void()> job) {
  MAIL_ASSERT(static_cast<bool>(job));
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      jobs_.push_back(std::move(job));
      cv_.notify_one();
      return;
    }
  }
  // Stopping: `job` is destroyed here, uncalled, outside the lock.
}

void WorkerPool::shutdown() noexcept {
  std::deque<UniqueFunction<void()>> dropped;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    dropped.swap(jobs_);
    cv_.notify_all();
  }
  for (auto& t : threads_) {
    MAIL_ASSERT(t.get_id() != std::this_thread::get_id());
    if (t.joinable()) t.join();
  }
  dropped.clear();
}

void WorkerPool::work(std::size_t index) {
  const std::string thread_name = (name_ + "-" + std::to_string(index)).substr(0, 15);
  pthread_setname_np(pthread_self(), thread_name.c_str());
  for (;;) {
    UniqueFunction<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace mail::io
