// BUGGIFY: off by default and outside the simulator; per-seed site activation that does
// not depend on evaluation order; decisions recorded in the trace.
#include "simulator/buggify.h"

#include "runtime/buggify.h"

#include <gtest/gtest.h>

#include "simulator/sim_env.h"

namespace mail::sim {
namespace {

WorldConfig enabled() {
  WorldConfig c;
  c.buggify.enabled = true;
  return c;
}

TEST(Buggify, DisabledNeverFires) {
  World w(1);
  auto h = w.add_host(HostConfig{"h", "10.0.0.1", Duration(0), {}});
  w.boot(h);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(MAIL_BUGGIFY(w.env(h), "site.a"));
}

TEST(Buggify, ActivationIsPerSeedAndOrderIndependent) {
  std::vector<std::string> sites;
  for (int i = 0; i < 200; ++i) sites.push_back("site." + std::to_string(i));
  std::size_t active = 0;
  Buggify fwd(42, enabled().buggify);
  Buggify rev(42, enabled().buggify);
  for (const auto& s : sites) (void)fwd.fire(s, nullptr, Instant{}, "h");
  for (auto it = sites.rbegin(); it != sites.rend(); ++it) (void)rev.fire(*it, nullptr, Instant{}, "h");
  for (const auto& s : sites) {
    EXPECT_EQ(fwd.sites().at(s).active, rev.sites().at(s).active);
    active += fwd.sites().at(s).active;
  }
  EXPECT_GT(active, 25u);  // ~25% of 200
  EXPECT_LT(active, 80u);
  Buggify other(43, enabled().buggify);
  std::size_t differ = 0;
  for (const auto& s : sites) differ += other.site_active(s) != fwd.site_active(s);
  EXPECT_GT(differ, 10u);
}

TEST(Buggify, ActiveSiteFiresAtTheConfiguredRateAndIsTraced) {
  WorldConfig c = enabled();
  c.buggify.site_active_ppm = 1'000'000;
  c.buggify.fire_ppm = 500'000;
  World w(5, c);
  auto h = w.add_host(HostConfig{"h", "10.0.0.1", Duration(0), {}});
  w.boot(h);
  int fired = 0;
  for (int i = 0; i < 1000; ++i) fired += MAIL_BUGGIFY(w.env(h), "maildir.slow-sync");
  EXPECT_GT(fired, 400);
  EXPECT_LT(fired, 600);
  const std::string tail = w.trace().tail(5);
  EXPECT_NE(tail.find("buggify.fire maildir.slow-sync"), std::string::npos) << tail;
  // Not a SimEnv: never fires.
  struct NotSim : rt::Env {
    rt::Executor& executor() override { MAIL_UNREACHABLE(); }
    rt::Clock& clock() override { MAIL_UNREACHABLE(); }
    Prng& rng() override { MAIL_UNREACHABLE(); }
    rt::Net& net() override { MAIL_UNREACHABLE(); }
    rt::Disk& disk() override { MAIL_UNREACHABLE(); }
    rt::Dns& dns() override { MAIL_UNREACHABLE(); }
    rt::Log& log() override { MAIL_UNREACHABLE(); }
    std::string_view hostname() const override { return "x"; }
  } not_sim;
  EXPECT_FALSE(MAIL_BUGGIFY(not_sim, "maildir.slow-sync"));
}

}  // namespace
}  // namespace mail::sim
