// AsioEnv Clock and Timer: monotonic now(), wall time, deadline ordering, cancel / re-arm /
// destruction -> Errc::canceled (even when the expiry is already queued), never inline.
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "io/io_test_util.h"

namespace mail::io {
namespace {

class ClockTest : public ::testing::Test {
 protected:
  AsioEnv env{test::test_options()};
};

TEST_F(ClockTest, NowIsMonotonicAndWallTimeIsUnixTime) {
  const Instant a = env.clock().now();
  const Instant b = env.clock().now();
  EXPECT_LE(a, b);
  const auto sys_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LT(std::abs(env.clock().wall_now().unix_us - sys_us), 5'000'000);
}

TEST_F(ClockTest, TimersFireInDeadlineOrder) {
  std::vector<int> order;
  const Instant now = env.clock().now();
  auto t1 = env.clock().make_timer();
  auto t2 = env.clock().make_timer();
  auto t3 = env.clock().make_timer();
  auto record = [&](int id) {
    return [&order, id, this](Result<void> r) {
      EXPECT_TRUE(r.ok());
      order.push_back(id);
      if (order.size() == 3) env.stop();
    };
  };
  t1->async_wait_until(now + 30ms, record(1));
  t2->async_wait_until(now + 10ms, record(2));
  t3->async_wait_until(now + 20ms, record(3));
  env.run();
  EXPECT_EQ(order, (std::vector<int>{2, 3, 1}));
  EXPECT_GE(env.clock().now() - now, 30ms);
}

TEST_F(ClockTest, CancelRearmAndDestroyComplete) {
  std::vector<Errc> got(4, Errc::ok);
  int done = 0;
  auto note = [&](int i) {
    return [&, i](Result<void> r) {
      got[static_cast<std::size_t>(i)] = r.ok() ? Errc::ok : r.code();
      if (++done == 4) env.stop();
    };
  };
  const Instant now = env.clock().now();
  auto canceled = env.clock().make_timer();
  canceled->async_wait_until(now + 10s, note(0));
  canceled->cancel();
  auto rearmed = env.clock().make_timer();
  rearmed->async_wait_until(now + 10s, note(1));  // replaced below -> canceled
  rearmed->async_wait_until(now + 5ms, note(2));  // fires
  auto destroyed = env.clock().make_timer();
  destroyed->async_wait_until(now + 10s, note(3));
  destroyed.reset();
  EXPECT_EQ(done, 0);  // nothing inline
  env.run();
  EXPECT_EQ(got, (std::vector<Errc>{Errc::canceled, Errc::canceled, Errc::ok, Errc::canceled}));
}

TEST_F(ClockTest, CancelWinsOverAnExpiryAlreadyQueued) {
  auto t = env.clock().make_timer();
  std::optional<Errc> got;
  t->async_wait_until(env.clock().now() - 1s, [&](Result<void> r) {
    got = r.code();
    env.stop();
  });
  // The deadline has passed, so by the time the posted cancel() runs the reactor may or
  // may not have queued the expiry; either way the wait must complete canceled.
  env.executor().post([&] { t->cancel(); });
  env.run();
  EXPECT_EQ(got, Errc::canceled);
}

TEST_F(ClockTest, PastDeadlineCompletesLaterNotInline) {
  auto t = env.clock().make_timer();
  bool returned = false;
  bool inline_call = false;
  bool ran = false;
  t->async_wait_until(env.clock().now() - 1s, [&](Result<void> r) {
    EXPECT_TRUE(r.ok());
    inline_call = !returned;
    ran = true;
    env.stop();
  });
  returned = true;
  env.run();
  EXPECT_TRUE(ran);
  EXPECT_FALSE(inline_call);
}

rt::Task<void> sleeper(AsioEnv& env, Duration d, std::vector<int>* order, int id) {
  auto t = env.clock().make_timer();
  auto r = co_await rt::sleep_until(*t, env.clock().now() + d);
  EXPECT_TRUE(r.ok());
  order->push_back(id);
}

rt::Task<void> many_sleepers(AsioEnv& env) {
  std::vector<int> order;
  for (int i = 5; i >= 1; --i) env.tasks().spawn(sleeper(env, Duration(i * 5ms), &order, i));
  auto t = env.clock().make_timer();
  auto r = co_await rt::sleep_until(*t, env.clock().now() + 60ms);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4, 5}));
}

TEST_F(ClockTest, CoroutineSleeps) { test::run_task(env, many_sleepers(env)); }

}  // namespace
}  // namespace mail::io
