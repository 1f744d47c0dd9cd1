// Small out-of-line helpers of the Env vocabulary.
#include "runtime/env.h"

#include "core/assert.h"

namespace mail::rt {

// Every rename starts now (the order the simulator's trace records); the last completion
// to arrive completes the batch, so `done` runs from the executor like any completion.
void Disk::async_rename_each(std::vector<std::pair<std::string, std::string>> moves,
                             Completion<std::vector<Result<void>>> done) {
  MAIL_ASSERT(!moves.empty());
  struct Batch {
    std::vector<Result<void>> results;
    std::size_t left = 0;
    Completion<std::vector<Result<void>>> done;
  };
  auto batch = std::make_shared<Batch>();
  batch->results.resize(moves.size());
  batch->left = moves.size();
  batch->done = std::move(done);
  for (std::size_t i = 0; i < moves.size(); ++i) {
    async_rename(std::move(moves[i].first), std::move(moves[i].second), [batch, i](Result<void> r) {
      batch->results[i] = std::move(r);
      MAIL_ASSERT(batch->left > 0);
      if (--batch->left == 0) std::move(batch->done)(std::move(batch->results));
    });
  }
}

// Same shape as async_rename_each: every read starts now, the last completion completes.
void Disk::async_read_each(std::vector<std::string> paths, Completion<std::vector<Result<std::string>>> done) {
  MAIL_ASSERT(!paths.empty());
  struct Batch {
    std::vector<Result<std::string>> results;
    std::size_t left = 0;
    Completion<std::vector<Result<std::string>>> done;
  };
  auto batch = std::make_shared<Batch>();
  batch->results.resize(paths.size(), Result<std::string>(std::string()));
  batch->left = paths.size();
  batch->done = std::move(done);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    async_read_file(std::move(paths[i]), [batch, i](Result<std::string> r) {
      batch->results[i] = std::move(r);
      MAIL_ASSERT(batch->left > 0);
      if (--batch->left == 0) std::move(batch->done)(std::move(batch->results));
    });
  }
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
