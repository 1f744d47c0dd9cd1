// World: event order, virtual time, bounded runs, hosts, crash semantics, SimEnv clock.
#include "simulator/world.h"

#include <gtest/gtest.h>

#include "runtime/await.h"
#include "simulator/sim_env.h"

namespace mail::sim {
namespace {

HostConfig host(std::string name, std::string addr) {
  HostConfig c;
  c.name = std::move(name);
  c.address = std::move(addr);
  return c;
}

TEST(World, EventsRunInTimeThenSequenceOrder) {
  World w(1);
  std::string order;
  w.schedule_after(20us, kWorldHost, [&] { order += 'c'; });
  w.schedule_after(10us, kWorldHost, [&] { order += 'a'; });
  w.schedule_after(10us, kWorldHost, [&] { order += 'b'; });
  w.schedule_after(0us, kWorldHost, [&] {
    order += '0';
    w.schedule_after(0us, kWorldHost, [&] { order += '1'; });
  });
  EXPECT_EQ(w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(order, "01abc");
  EXPECT_EQ(w.now(), Instant(20us));
}

TEST(World, TimeJumpsToTheNextEvent) {
  World w(1);
  bool ran = false;
  w.schedule_after(std::chrono::hours(24), kWorldHost, [&] { ran = true; });
  EXPECT_EQ(w.run_until_idle(), RunStatus::idle);
  EXPECT_TRUE(ran);
  EXPECT_EQ(w.now(), Instant(std::chrono::hours(24)));
  EXPECT_EQ(w.steps(), 1u);
}

TEST(World, CancelDestroysUncalled) {
  World w(1);
  auto token = std::make_shared<int>(0);
  bool ran = false;
  auto h = w.schedule_after(5us, kWorldHost, [&, token] { ran = true; });
  EXPECT_EQ(token.use_count(), 2);
  EXPECT_TRUE(w.cancel(h));
  EXPECT_FALSE(h);
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_FALSE(w.cancel(h));
  EXPECT_EQ(w.run_until_idle(), RunStatus::idle);
  EXPECT_FALSE(ran);
}

TEST(World, RunForAdvancesExactly) {
  World w(1);
  int n = 0;
  for (int i = 1; i <= 10; ++i) w.schedule_after(Duration(i * 100), kWorldHost, [&] { ++n; });
  EXPECT_EQ(w.run_for(550us), RunStatus::time_limit);
  EXPECT_EQ(n, 5);
  EXPECT_EQ(w.now(), Instant(550us));
  EXPECT_EQ(w.run_for(1s), RunStatus::time_limit);
  EXPECT_EQ(n, 10);
  EXPECT_EQ(w.now(), Instant(550us + 1s));
}

TEST(World, RunUntilPredicateAndTimeLimit) {
  World w(1);
  int n = 0;
  std::function<void()> tick = [&] {
    ++n;
    w.schedule_after(1s, kWorldHost, [&] { tick(); });
  };
  tick();
  EXPECT_EQ(w.run_until([&] { return n == 5; }, 1min), RunStatus::predicate);
  EXPECT_EQ(n, 5);
  EXPECT_EQ(w.run_until([] { return false; }, 10500ms), RunStatus::time_limit);
  EXPECT_EQ(n, 15);
}

TEST(World, StepBudgetStopsALivelock) {
  World w(1);
  std::function<void()> spin = [&] { w.schedule_after(0us, kWorldHost, [&] { spin(); }); };
  spin();
  EXPECT_EQ(w.run_until_idle(1000), RunStatus::budget_exhausted);
  EXPECT_EQ(w.steps(), 1000u);
  EXPECT_EQ(w.now(), Instant{});  // a zero-delay livelock never advances time
}

TEST(World, ClockSkewAndWallTime) {
  World w(1);
  auto a = w.add_host(host("a", "10.0.0.1"));
  auto b = w.add_host(host("b", "10.0.0.2"));
  w.set_clock_skew(b, 3s);
  w.boot(a);
  w.boot(b);
  EXPECT_EQ(w.run_for(2s), RunStatus::time_limit);
  EXPECT_EQ(w.env(a).clock().now(), Instant(2s));
  EXPECT_EQ(w.env(b).clock().now(), Instant(5s));
  EXPECT_EQ(w.env(a).clock().wall_now().unix_seconds(), kWallEpochUnixSeconds + 2);
  EXPECT_EQ(w.env(b).clock().wall_now().unix_seconds(), kWallEpochUnixSeconds + 5);
  // A timer on the skewed host fires when *its* clock reaches the deadline.
  auto t = w.env(b).clock().make_timer();
  Instant fired{};
  t->async_wait_until(Instant(10s), [&](Status s) {
    EXPECT_TRUE(s.ok());
    fired = w.now();
  });
  EXPECT_EQ(w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(fired, Instant(7s));
}

TEST(World, TimerCancelAndRearm) {
  World w(1);
  auto a = w.add_host(host("a", "10.0.0.1"));
  w.boot(a);
  auto t = w.env(a).clock().make_timer();
  std::vector<std::string> seen;
  t->async_wait_until(Instant(5s), [&](Status s) { seen.push_back("first:" + std::string(to_string(s.code()))); });
  t->async_wait_until(Instant(3s), [&](Status s) { seen.push_back("second:" + std::string(to_string(s.code()))); });
  EXPECT_TRUE(seen.empty());  // never inside the initiating call
  EXPECT_EQ(w.run_until_idle(), RunStatus::idle);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].substr(0, 6), "first:");
  EXPECT_NE(seen[0], "first:ok");
  EXPECT_EQ(seen[1], "second:ok");
  EXPECT_EQ(w.now(), Instant(3s));
  // Destroying an armed timer destroys its completion uncalled.
  bool called = false;
  t->async_wait_until(Instant(10s), [&](Status) { called = true; });
  t.reset();
  EXPECT_EQ(w.run_until_idle(), RunStatus::idle);
  EXPECT_FALSE(called);
}

TEST(World, ExecutorPostsLater) {
  World w(1);
  auto a = w.add_host(host("a", "10.0.0.1"));
  w.boot(a);
  bool ran = false;
  w.env(a).executor().post([&] { ran = true; });
  EXPECT_FALSE(ran);
  EXPECT_TRUE(w.step());
  EXPECT_TRUE(ran);
}

rt::Task<void> sleeper(rt::Env& env, int* wakeups, std::shared_ptr<int> alive) {
  auto timer = env.clock().make_timer();
  for (;;) {
    auto s = co_await rt::sleep_until(*timer, env.clock().now() + 1s);
    if (!s) co_return;
    ++*wakeups;
  }
  (void)alive;
}

struct Services {
  explicit Services(int* d) : destroyed(d) {}
  Services(const Services&) = delete;
  Services& operator=(const Services&) = delete;
  ~Services() { ++*destroyed; }
  int* destroyed;
};

TEST(World, CrashDropsEventsTasksAndServicesThenRebootsFresh) {
  World w(7);
  auto a = w.add_host(host("a", "10.0.0.1"));
  int wakeups = 0;
  int destroyed = 0;
  auto alive = std::make_shared<int>(0);
  int boots = 0;
  w.set_boot(a, [&](SimEnv& env) -> std::shared_ptr<void> {
    ++boots;
    env.tasks().spawn(sleeper(env, &wakeups, alive));
    return std::make_shared<Services>(&destroyed);
  });
  w.boot(a);
  EXPECT_EQ(w.run_for(5500ms), RunStatus::time_limit);
  EXPECT_EQ(wakeups, 5);
  EXPECT_EQ(alive.use_count(), 2);
  bool posted_ran = false;
  w.env(a).executor().post([&] { posted_ran = true; });
  w.crash(a);
  EXPECT_FALSE(w.host_up(a));
  EXPECT_EQ(alive.use_count(), 1);  // the frame is gone
  EXPECT_EQ(destroyed, 1);
  EXPECT_EQ(w.pending_events(), 0u);
  // Nothing may be scheduled for a host that is down.
  bool late = false;
  EXPECT_FALSE(w.schedule_after(1s, a, [&] { late = true; }));
  EXPECT_EQ(w.run_for(10s), RunStatus::time_limit);
  EXPECT_FALSE(posted_ran);
  EXPECT_FALSE(late);
  EXPECT_EQ(wakeups, 5);
  w.boot(a);
  EXPECT_EQ(boots, 2);
  EXPECT_EQ(w.incarnation(a), 2u);
  EXPECT_EQ(w.run_for(3500ms), RunStatus::time_limit);
  EXPECT_EQ(wakeups, 8);
}

TEST(World, HostRngForksByNameAndBoot) {
  World w(99);
  auto a = w.add_host(host("a", "10.0.0.1"));
  auto b = w.add_host(host("b", "10.0.0.2"));
  w.boot(a);
  w.boot(b);
  const auto ra = w.env(a).rng().next_u64();
  const auto rb = w.env(b).rng().next_u64();
  EXPECT_NE(ra, rb);
  w.restart(a);
  EXPECT_NE(w.env(a).rng().next_u64(), ra);  // a rebooted host does not replay its randomness
  World w2(99);
  auto a2 = w2.add_host(host("a", "10.0.0.1"));
  w2.boot(a2);
  EXPECT_EQ(w2.env(a2).rng().next_u64(), ra);
}

TEST(World, SameSeedSameTraceHash) {
  auto run = [](std::uint64_t seed) {
    World w(seed);
    auto a = w.add_host(host("a", "10.0.0.1"));
    w.boot(a);
    auto& env = w.env(a);
    for (int i = 0; i < 50; ++i) {
      const auto d = Duration(static_cast<std::int64_t>(env.rng().below(1000)));
      w.schedule_after(d, a, [&w, a, i] { w.record(a, "tick", std::to_string(i)); });
    }
    EXPECT_EQ(w.run_until_idle(), RunStatus::idle);
    return w.trace().hash();
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

}  // namespace
}  // namespace mail::sim
