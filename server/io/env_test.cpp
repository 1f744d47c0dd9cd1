// AsioEnv as a whole: post() from other threads, stop() from another thread and before
// run(), signals handled on the env thread, hostname, seeded Prng, the stderr log line
// format, and teardown with suspended tasks and pending operations (ASan-checked).
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <thread>
#include <vector>

#include "io/io_test_util.h"
#include "io/stderr_log.h"

namespace mail::io {
namespace {

TEST(AsioEnv, PostFromOtherThreadsRunsOnTheEnvThread) {
  AsioEnv env(test::test_options());
  const auto env_thread = std::this_thread::get_id();
  constexpr int kPerThread = 500;
  int count = 0;  // touched only on the env thread
  bool wrong_thread = false;
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        env.executor().post([&] {
          wrong_thread = wrong_thread || std::this_thread::get_id() != env_thread;
          if (++count == 3 * kPerThread) env.stop();
        });
      }
    });
  }
  env.run();
  for (auto& t : threads) t.join();
  EXPECT_EQ(count, 3 * kPerThread);
  EXPECT_FALSE(wrong_thread);
}

TEST(AsioEnv, StopFromAnotherThreadEndsRun) {
  AsioEnv env(test::test_options());
  std::thread stopper([&] {
    std::this_thread::sleep_for(20ms);
    env.stop();
  });
  env.run();  // returns only because of stop(): the env always has work
  stopper.join();
}

TEST(AsioEnv, StopBeforeRunIsConsumedByTheNextRun) {
  AsioEnv env(test::test_options());
  bool ran = false;
  env.executor().post([&] { ran = true; });
  env.stop();
  env.run();  // returns at once; the posted job stays queued
  EXPECT_FALSE(ran);
  env.executor().post([&] { env.stop(); });
  env.run();
  EXPECT_TRUE(ran);
}

TEST(AsioEnv, SignalsRunCallbacksOnTheEnvThread) {
  AsioEnv env(test::test_options());
  const auto env_thread = std::this_thread::get_id();
  std::vector<int> seen;
  bool wrong_thread = false;
  bool canceled_called = false;
  SignalSet canceled = env.on_signal({SIGUSR1}, [&](int) { canceled_called = true; });
  SignalSet watch = env.on_signal({SIGUSR1, SIGUSR2}, [&](int signo) {
    wrong_thread = wrong_thread || std::this_thread::get_id() != env_thread;
    seen.push_back(signo);
    if (seen.size() == 1) {
      std::raise(SIGUSR2);
    } else {
      env.stop();
    }
  });
  canceled.cancel();
  EXPECT_FALSE(canceled.active());
  EXPECT_TRUE(watch.active());
  env.executor().post([] { std::raise(SIGUSR1); });
  env.run();
  EXPECT_EQ(seen, (std::vector<int>{SIGUSR1, SIGUSR2}));
  EXPECT_FALSE(wrong_thread);
  EXPECT_FALSE(canceled_called);
}

TEST(AsioEnv, SignalCallbackMayDestroyItsSet) {
  AsioEnv env(test::test_options());
  int calls = 0;
  std::optional<SignalSet> keep_alive;  // keeps SIGUSR1 handled after `once` goes
  keep_alive.emplace(env.on_signal({SIGUSR1}, [](int) {}));
  std::optional<SignalSet> once;
  once.emplace(env.on_signal({SIGUSR1}, [&](int) {
    ++calls;
    once.reset();
    env.executor().post([&] { env.stop(); });
  }));
  env.executor().post([] { std::raise(SIGUSR1); });
  env.run();
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(once.has_value());
}

TEST(AsioEnv, HostnameAndRng) {
  AsioEnv named(test::test_options());
  EXPECT_EQ(named.hostname(), "test.invalid");
  AsioEnvOptions o;
  o.log_level_min = rt::LogLevel::error;
  AsioEnv system(o);
  EXPECT_FALSE(system.hostname().empty());

  AsioEnv same(test::test_options());
  EXPECT_EQ(named.rng().next_u64(), same.rng().next_u64());  // seed 42 in both
  AsioEnv other(o);                                          // seeded from random_device
  EXPECT_NE(system.rng().seed(), other.rng().seed());
}

TEST(StderrLog, OneLinePerCallWithTimestampAndLevel) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  StderrLog log(rt::LogLevel::info, fds[1]);
  log.write(rt::LogLevel::debug, "dropped");
  log.write(rt::LogLevel::info, "hello");
  log.write(rt::LogLevel::error, "evil\r\nforged line");
  ::close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < out.size();) {
    const std::size_t nl = out.find('\n', at);
    ASSERT_NE(nl, std::string::npos) << "unterminated line";
    lines.push_back(out.substr(at, nl - at));
    at = nl + 1;
  }
  ASSERT_EQ(lines.size(), 2u) << out;
  for (const auto& l : lines) {
    // "YYYY-MM-DDTHH:MM:SS.uuuuuuZ " (std::regex trips GCC 12 -O2 -Wmaybe-uninitialized)
    ASSERT_GT(l.size(), 28u) << l;
    for (std::size_t i = 0; i < 27; ++i) {
      const char want = "0000-00-00T00:00:00.000000Z"[i];
      if (want == '0') {
        EXPECT_TRUE(l[i] >= '0' && l[i] <= '9') << l;
      } else {
        EXPECT_EQ(l[i], want) << l;
      }
    }
  }
  EXPECT_EQ(lines[0].substr(27), " info  hello");
  EXPECT_EQ(lines[1].substr(27), " error evil  forged line");
  EXPECT_EQ(out.find("dropped"), std::string::npos);
}

TEST(StderrLog, FormatsUtc) {
  EXPECT_EQ(format_utc(WallTime{0}), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_utc(WallTime{1'700'000'000'123'456}), "2023-11-14T22:13:20.123456Z");
}

rt::Task<void> stuck_reader(AsioEnv& env, rt::Endpoint at, bool* connected, bool* disk_called) {
  auto c = co_await rt::connect(env.net(), at, env.clock().now() + 5s);
  EXPECT_TRUE(c.ok());
  if (!c) co_return;
  *connected = true;
  // A disk completion that arrives after stop() must never run.
  env.disk().async_sync_dir("/tmp", [disk_called](Result<void>) { *disk_called = true; });
  env.stop();  // run() returns once this handler is done; the read below stays pending
  std::byte buf[16];
  auto r = co_await rt::read_some(**c, buf, instant_max());
  (void)r;
  ADD_FAILURE() << "resumed after teardown";
}

rt::Task<void> stuck_sleeper(AsioEnv& env) {
  auto t = env.clock().make_timer();
  auto r = co_await rt::sleep_until(*t, env.clock().now() + 1h);
  (void)r;
  ADD_FAILURE() << "resumed after teardown";
}

TEST(AsioEnv, TeardownDestroysSuspendedTasksAndPendingCompletions) {
  bool connected = false;
  bool disk_called = false;
  {
    AsioEnv env(test::test_options());
    std::unique_ptr<rt::Stream> server_side;  // held open: the reader must not see eof
    auto l = env.net().listen({"127.0.0.1", 0});
    ASSERT_TRUE(l.ok());
    (*l)->async_accept([&](Result<std::unique_ptr<rt::Stream>> s) {
      if (s) server_side = std::move(*s);
    });
    env.tasks().spawn(stuck_sleeper(env));
    env.tasks().spawn(stuck_reader(env, (*l)->local_endpoint(), &connected, &disk_called));
    env.run();
    EXPECT_TRUE(connected);
    EXPECT_EQ(env.tasks().live(), 2u);
  }  // ~AsioEnv: frames destroyed, their stream and timer closed, completions dropped
  EXPECT_FALSE(disk_called);
}

}  // namespace
}  // namespace mail::io
