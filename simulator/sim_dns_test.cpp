// SimDns: records, NODATA vs NXDOMAIN, sticky and random faults, deadlines.
#include "simulator/sim_dns.h"

#include <gtest/gtest.h>

#include <set>

#include "simulator/sim_env.h"

namespace mail::sim {
namespace {

struct DnsFixture {
  explicit DnsFixture(DnsConfig dc = {}) : w(1, config(dc)) {
    h = w.add_host(HostConfig{"h", "10.0.0.1", Duration(0), {}});
    w.boot(h);
    auto& z = w.dns();
    z.add_mx("Example.TEST.", 10, "mx1.example.test");
    z.add_mx("example.test", 20, "mx2.example.test");
    z.add_a("mx1.example.test", "10.0.0.2");
    z.add_aaaa("mx1.example.test", "fd00::2");
    z.add_txt("example.test", "v=spf1 -all");
  }
  static WorldConfig config(DnsConfig dc) {
    WorldConfig c;
    c.dns = dc;
    return c;
  }
  World w;
  HostId h = 0;
};

TEST(SimDns, AnswersRecords) {
  DnsFixture f;
  auto& dns = f.w.env(f.h).dns();
  Result<std::vector<rt::MxRecord>> mx = fail(Errc::io);
  Result<std::vector<std::string>> addrs = fail(Errc::io);
  Result<std::vector<std::string>> txt = fail(Errc::io);
  dns.async_mx("EXAMPLE.test", instant_max(), [&](auto r) { mx = std::move(r); });
  dns.async_addresses("mx1.example.test.", instant_max(), [&](auto r) { addrs = std::move(r); });
  dns.async_txt("example.test", instant_max(), [&](auto r) { txt = std::move(r); });
  EXPECT_FALSE(mx.ok());  // not inside the call
  EXPECT_EQ(f.w.run_until_idle(), RunStatus::idle);
  ASSERT_TRUE(mx.ok());
  ASSERT_EQ(mx->size(), 2u);
  std::set<std::string> ex;
  for (const auto& r : *mx) ex.insert(std::to_string(r.preference) + " " + r.exchange);
  EXPECT_EQ(ex, (std::set<std::string>{"10 mx1.example.test", "20 mx2.example.test"}));
  ASSERT_TRUE(addrs.ok());
  EXPECT_EQ(std::set<std::string>(addrs->begin(), addrs->end()), (std::set<std::string>{"10.0.0.2", "fd00::2"}));
  ASSERT_TRUE(txt.ok());
  EXPECT_EQ(txt->at(0), "v=spf1 -all");
}

TEST(SimDns, NodataIsEmptyNxdomainIsNotFound) {
  DnsFixture f;
  auto& dns = f.w.env(f.h).dns();
  Result<std::vector<rt::MxRecord>> nodata = fail(Errc::io);
  Result<std::vector<rt::MxRecord>> nx = fail(Errc::io);
  dns.async_mx("mx1.example.test", instant_max(), [&](auto r) { nodata = std::move(r); });
  dns.async_mx("nowhere.test", instant_max(), [&](auto r) { nx = std::move(r); });
  EXPECT_EQ(f.w.run_until_idle(), RunStatus::idle);
  ASSERT_TRUE(nodata.ok());
  EXPECT_TRUE(nodata->empty());
  EXPECT_EQ(nx.code(), Errc::not_found);
}

TEST(SimDns, StickyFaults) {
  DnsFixture f;
  auto& z = f.w.dns();
  auto& dns = f.w.env(f.h).dns();
  z.set_fault("example.test", DnsFault::servfail);
  z.set_fault("mx1.example.test", DnsFault::timeout);
  z.set_fault("mx2.example.test", DnsFault::nxdomain);
  Errc a = Errc::ok, b = Errc::ok, c = Errc::ok;
  dns.async_mx("example.test", instant_max(), [&](auto r) { a = r.code(); });
  dns.async_addresses("mx1.example.test", Instant(3s), [&](auto r) { b = r.code(); });
  dns.async_addresses("mx2.example.test", instant_max(), [&](auto r) { c = r.code(); });
  EXPECT_EQ(f.w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(a, Errc::unavailable);
  EXPECT_EQ(b, Errc::timeout);
  EXPECT_EQ(f.w.now(), Instant(3s));
  EXPECT_EQ(c, Errc::not_found);
  z.set_fault("example.test", DnsFault::none);
  dns.async_mx("example.test", instant_max(), [&](auto r) { a = r.code(); });
  EXPECT_EQ(f.w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(a, Errc::ok);
}

TEST(SimDns, TimeoutWithoutDeadlineUsesTheDefault) {
  DnsConfig dc;
  dc.timeout_ppm = 1'000'000;
  dc.default_timeout = 4s;
  DnsFixture f(dc);
  Errc a = Errc::ok;
  f.w.env(f.h).dns().async_mx("example.test", instant_max(), [&](auto r) { a = r.code(); });
  EXPECT_EQ(f.w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(a, Errc::timeout);
  EXPECT_EQ(f.w.now(), Instant(4s));
}

TEST(SimDns, RandomServfailRate) {
  DnsConfig dc;
  dc.servfail_ppm = 300'000;
  DnsFixture f(dc);
  int fails = 0;
  for (int i = 0; i < 1000; ++i) {
    f.w.env(f.h).dns().async_mx("example.test", instant_max(), [&](auto r) { fails += r.code() == Errc::unavailable; });
  }
  EXPECT_EQ(f.w.run_until_idle(), RunStatus::idle);
  EXPECT_GT(fails, 220);
  EXPECT_LT(fails, 380);
}

TEST(SimDns, DeadlineShorterThanLatencyTimesOut) {
  DnsConfig dc;
  dc.latency = Latency{2s, 2s, 0, Duration(0)};
  DnsFixture f(dc);
  Errc a = Errc::ok;
  f.w.env(f.h).dns().async_mx("example.test", Instant(1s), [&](auto r) { a = r.code(); });
  EXPECT_EQ(f.w.run_until_idle(), RunStatus::idle);
  EXPECT_EQ(a, Errc::timeout);
  EXPECT_EQ(f.w.now(), Instant(1s));
}

}  // namespace
}  // namespace mail::sim
