// ThreadLane (AsioEnv::make_blocking_lane): jobs run in submission order on one thread
// that is not the env thread, each `done` runs on the env thread after its job, run_on
// hands back the job's value, and destroying the lane drops queued jobs and suppresses
// completions already posted (ASan-checked).
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "io/io_test_util.h"
#include "runtime/await.h"

namespace mail::io {
namespace {

TEST(ThreadLane, JobsRunInOrderOffTheEnvThreadAndCompleteOnIt) {
  AsioEnv env(test::test_options());
  auto lane = env.make_blocking_lane("test-lane");
  const auto env_thread = std::this_thread::get_id();
  constexpr int kJobs = 50;
  std::mutex mu;
  std::vector<int> order;                  // jobs, under mu
  std::vector<std::thread::id> job_threads;  // under mu
  std::vector<int> dones;                  // env thread only
  bool done_wrong_thread = false;
  bool done_before_job = false;
  for (int i = 0; i < kJobs; ++i) {
    lane->run(
        [&, i] {
          std::lock_guard lock(mu);
          order.push_back(i);
          job_threads.push_back(std::this_thread::get_id());
        },
        [&, i](Result<void> r) {
          EXPECT_TRUE(r.ok());
          done_wrong_thread = done_wrong_thread || std::this_thread::get_id() != env_thread;
          {
            std::lock_guard lock(mu);
            done_before_job = done_before_job || order.size() < static_cast<std::size_t>(i + 1);
          }
          dones.push_back(i);
          if (dones.size() == kJobs) env.stop();
        });
  }
  env.run();
  std::vector<int> want(kJobs);
  for (int i = 0; i < kJobs; ++i) want[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(order, want);
  EXPECT_EQ(dones, want);
  EXPECT_FALSE(done_wrong_thread);
  EXPECT_FALSE(done_before_job);
  ASSERT_EQ(job_threads.size(), static_cast<std::size_t>(kJobs));
  for (const auto& t : job_threads) {
    EXPECT_NE(t, env_thread);
    EXPECT_EQ(t, job_threads.front());  // one dedicated thread
  }
}

rt::Task<void> use_run_on(rt::BlockingLane& lane, std::thread::id env_thread, std::vector<std::string>* log) {
  auto n = co_await rt::run_on(lane, [env_thread] { return std::this_thread::get_id() != env_thread ? 42 : -1; });
  log->push_back(n.ok() ? std::to_string(*n) : "error");
  auto e = co_await rt::run_on(lane, []() -> Status { return fail(Errc::no_space, "full"); });
  log->push_back(e.ok() ? "ok" : std::string(to_string(e.code())));
  Status v = co_await rt::run_on(lane, [] {});
  log->push_back(v.ok() ? "void" : "error");
  // Resumed on the env thread.
  log->push_back(std::this_thread::get_id() == env_thread ? "env" : "other");
}

TEST(ThreadLane, RunOnReturnsTheJobsValueOnTheEnvThread) {
  AsioEnv env(test::test_options());
  auto lane = env.make_blocking_lane("test-lane");
  std::vector<std::string> log;
  test::run_task(env, use_run_on(*lane, std::this_thread::get_id(), &log));
  EXPECT_EQ(log, (std::vector<std::string>{"42", "no_space", "void", "env"}));
}

TEST(ThreadLane, DestroyingTheLaneDropsQueuedJobsAndPostedCompletions) {
  AsioEnv env(test::test_options());
  auto lane = env.make_blocking_lane("test-lane");
  std::atomic<bool> started{false};
  std::atomic<bool> release{false};
  std::atomic<int> jobs{0};
  int dones = 0;
  // The first job blocks until released; the others queue behind it.
  lane->run(
      [&] {
        started.store(true);
        while (!release.load()) std::this_thread::yield();
        jobs.fetch_add(1);
      },
      [&](Result<void>) { ++dones; });
  for (int i = 0; i < 5; ++i) lane->run([&] { jobs.fetch_add(1); }, [&](Result<void>) { ++dones; });
  // Destroy on the env thread while the first job runs: it finishes (the destructor
  // joins), the queued ones are dropped, and its posted completion never runs.
  env.executor().post([&] {
    while (!started.load()) std::this_thread::yield();
    release.store(true);
    lane.reset();
    env.executor().post([&] { env.stop(); });
  });
  env.run();
  EXPECT_EQ(jobs.load(), 1);
  EXPECT_EQ(dones, 0);
}

}  // namespace
}  // namespace mail::io
