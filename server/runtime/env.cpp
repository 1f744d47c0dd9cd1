// Small out-of-line helpers of the Env vocabulary.
#include "runtime/env.h"

#include "core/assert.h"

namespace mail::rt {

namespace {

// The default batch ops: every one of `n` operations starts now (`start_one(i, done_i)`, in
// order: the order the simulator's trace records), each reports into its slot, and the
// last completion to arrive completes the batch, so `done` runs from the executor like any
// completion.
template <class T, class StartOne>
void start_each(std::size_t n, StartOne start_one, Completion<std::vector<Result<T>>> done) {
  MAIL_ASSERT(n > 0);
  struct Batch {
    std::vector<Result<T>> results;
    std::size_t left = 0;
    Completion<std::vector<Result<T>>> done;
  };
  auto batch = std::make_shared<Batch>();
  batch->results.resize(n, Result<T>(fail(Errc::canceled, "not completed")));
  batch->left = n;
  batch->done = std::move(done);
  for (std::size_t i = 0; i < n; ++i) {
    start_one(i, [batch, i](Result<T> r) {
      batch->results[i] = std::move(r);
      MAIL_ASSERT(batch->left > 0);
      if (--batch->left == 0) std::move(batch->done)(std::move(batch->results));
    });
  }
}

}  // namespace

void Disk::async_rename_each(std::vector<std::pair<std::string, std::string>> moves,
                             Completion<std::vector<Result<void>>> done) {
  start_each<void>(
      moves.size(),
      [&](std::size_t i, Completion<void> one) {
        async_rename(std::move(moves[i].first), std::move(moves[i].second), std::move(one));
      },
      std::move(done));
}

void Disk::async_read_each(std::vector<std::string> paths, Completion<std::vector<Result<std::string>>> done) {
  start_each<std::string>(
      paths.size(), [&](std::size_t i, Completion<std::string> one) { async_read_file(std::move(paths[i]), std::move(one)); },
      std::move(done));
}

}  // namespace mail::rt

namespace mail::rt {

namespace {
// The fallback lane of test Envs: each job runs in an executor callback (blocking the
// loop), `done` in the next one. Serial because the executor is. Jobs and completions
// still queued when the lane dies see the dead flag and do nothing.
class ExecutorLane final : public BlockingLane {
 public:
  explicit ExecutorLane(Executor& ex) : ex_(ex) {}
  ~ExecutorLane() override { *alive_ = false; }
  void run(UniqueFunction<void()> job, Completion<void> done) override {
    MAIL_ASSERT(job);
    MAIL_ASSERT(done);
    ex_.post([this, alive = alive_, job = std::move(job), done = std::move(done)]() mutable {
      if (!*alive) return;
      job();
      ex_.post([alive, done = std::move(done)]() mutable {
        if (*alive) done(Status{});
      });
    });
  }

 private:
  Executor& ex_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};
}  // namespace

std::unique_ptr<BlockingLane> Env::make_blocking_lane(std::string /*name*/) { return std::make_unique<ExecutorLane>(executor()); }

}  // namespace mail::rt
