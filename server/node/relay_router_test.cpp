// Router (relay_router.h) over a tiny Env whose Dns is an in-memory table (FakeDns): static
// routes, MX order and tie shuffling per seed, implicit MX, null MX (RFC 7505), NXDOMAIN
// versus SERVFAIL, loops (RFC 5321 §5.1), address literals, the caps, IPv6. No network,
// no timers: every answer is posted to a queue the test drains.
#include "node/relay_router.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mail::node {
namespace {

class QueueExecutor final : public rt::Executor {
 public:
  void post(UniqueFunction<void()> fn) override { queue.push_back(std::move(fn)); }
  bool run_one() {
    if (queue.empty()) return false;
    auto fn = std::move(queue.front());
    queue.pop_front();
    fn();
    return true;
  }
  std::deque<UniqueFunction<void()>> queue;
};

class FixedClock final : public rt::Clock {
 public:
  Instant now() const override { return Instant{Duration(1'000'000)}; }
  WallTime wall_now() const override { return WallTime{1'767'225'600'000'000}; }
  std::unique_ptr<rt::Timer> make_timer() override {
    ADD_FAILURE() << "the router must not need a timer";
    return nullptr;
  }
};

class NoNet final : public rt::Net {
 public:
  Result<std::unique_ptr<rt::Listener>> listen(const rt::Endpoint&) override { return fail(Errc::unsupported); }
  void async_connect(const rt::Endpoint&, Instant, rt::Completion<std::unique_ptr<rt::Stream>>) override {
    ADD_FAILURE() << "the router must not connect";
  }
};

class NoDisk final : public rt::Disk {
 public:
  void async_write_file(std::string, std::string, rt::WriteMode, rt::Completion<void>) override { unused(); }
  void async_read_file(std::string, rt::Completion<std::string>) override { unused(); }
  void async_sync_files(std::vector<std::string>, rt::Completion<void>) override { unused(); }
  void async_sync_dir(std::string, rt::Completion<void>) override { unused(); }
  void async_rename(std::string, std::string, rt::Completion<void>) override { unused(); }
  void async_link(std::string, std::string, rt::Completion<void>) override { unused(); }
  void async_remove(std::string, rt::Completion<void>) override { unused(); }
  void async_make_dirs(std::string, rt::Completion<void>) override { unused(); }
  void async_list_dir(std::string, rt::Completion<std::vector<rt::DirEntry>>) override { unused(); }
  void async_file_size(std::string, rt::Completion<std::uint64_t>) override { unused(); }

 private:
  static void unused() { ADD_FAILURE() << "the router must not touch the disk"; }
};

// Answers from tables; a name in neither table is NXDOMAIN. Records every query.
class FakeDns final : public rt::Dns {
 public:
  explicit FakeDns(QueueExecutor& ex) : ex_(ex) {}
  void async_mx(std::string domain, Instant, rt::Completion<std::vector<rt::MxRecord>> done) override {
    queries.push_back("MX " + domain);
    Result<std::vector<rt::MxRecord>> r = fail(Errc::not_found, "NXDOMAIN " + domain);
    if (auto it = mx.find(domain); it != mx.end()) r = it->second;
    ex_.post([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  }
  void async_addresses(std::string host, Instant, rt::Completion<std::vector<std::string>> done) override {
    queries.push_back("A " + host);
    Result<std::vector<std::string>> r = fail(Errc::not_found, "NXDOMAIN " + host);
    if (auto it = addresses.find(host); it != addresses.end()) r = it->second;
    ex_.post([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  }
  void async_txt(std::string, Instant, rt::Completion<std::vector<std::string>>) override { ADD_FAILURE() << "no TXT"; }

  std::map<std::string, Result<std::vector<rt::MxRecord>>> mx;
  std::map<std::string, Result<std::vector<std::string>>> addresses;
  std::vector<std::string> queries;

 private:
  QueueExecutor& ex_;
};

class NullLog final : public rt::Log {
 public:
  void write(rt::LogLevel, std::string_view) override {}
};

class DnsEnv final : public rt::Env {
 public:
  explicit DnsEnv(std::uint64_t seed = 42) : dns_(executor_), rng_(seed) {}
  ~DnsEnv() override {
    executor_.queue.clear();
    tasks().destroy_all();
  }
  rt::Executor& executor() override { return executor_; }
  rt::Clock& clock() override { return clock_; }
  Prng& rng() override { return rng_; }
  rt::Net& net() override { return net_; }
  rt::Disk& disk() override { return disk_; }
  rt::Dns& dns() override { return dns_; }
  rt::Log& log() override { return log_; }
  std::string_view hostname() const override { return "mx.a.test"; }

  FakeDns& fake_dns() { return dns_; }
  void drain() {
    for (int i = 0; i < 10'000 && executor_.run_one(); ++i) {
    }
  }

 private:
  QueueExecutor executor_;
  FixedClock clock_;
  NoNet net_;
  NoDisk disk_;
  FakeDns dns_;
  Prng rng_;
  NullLog log_;
};

using Outcome = std::variant<Route, RouteError>;

Outcome resolve(DnsEnv& env, Router& router, std::string domain) {
  std::optional<Outcome> out;
  env.tasks().spawn([](Router& r, std::string d, std::optional<Outcome>& o) -> rt::Task<void> {
    o = co_await r.resolve(std::move(d));
  }(router, std::move(domain), out));
  env.drain();
  EXPECT_TRUE(out.has_value()) << "resolve() did not finish";
  if (!out) return RouteError{};
  return std::move(*out);
}

const Route& route_of(const Outcome& o) {
  static const Route none;
  if (const auto* e = std::get_if<RouteError>(&o)) {
    ADD_FAILURE() << "expected a route, got " << e->reply.code << " " << (e->reply.lines.empty() ? "" : e->reply.lines[0]);
    return none;
  }
  return std::get<Route>(o);
}

const RouteError& error_of(const Outcome& o) {
  static const RouteError none;
  if (!std::holds_alternative<RouteError>(o)) {
    ADD_FAILURE() << "expected an error, got a route";
    return none;
  }
  return std::get<RouteError>(o);
}

std::vector<std::string> addresses(const Route& r) {
  std::vector<std::string> out;
  for (const auto& h : r.hops) out.push_back(h.address);
  return out;
}

std::vector<std::string> hosts(const Route& r) {
  std::vector<std::string> out;
  for (const auto& h : r.hops) out.push_back(h.host);
  return out;
}

using Mx = std::vector<rt::MxRecord>;
using Addrs = std::vector<std::string>;

TEST(Router, StaticExactRouteBeatsWildcard) {
  DnsEnv env;
  RouterConfig c;
  c.routes.push_back(StaticRoute{"*", "smarthost.a.test", 587, TlsPolicy::required, "relay", "/etc/pw"});
  c.routes.push_back(StaticRoute{"b.test", "127.0.0.1", 2626, TlsPolicy::none, "", ""});
  env.fake_dns().addresses.insert_or_assign("smarthost.a.test", Addrs{"192.0.2.10", "2001:db8::10"});
  Router router(env, c);

  const Outcome exact = resolve(env, router, "b.test");
  const Route& r = route_of(exact);
  ASSERT_EQ(r.hops.size(), 1u);
  EXPECT_EQ(r.hops[0], (NextHop{"127.0.0.1", "127.0.0.1", 2626, 0}));
  EXPECT_EQ(r.tls, TlsPolicy::none);
  ASSERT_NE(r.static_route, nullptr);
  EXPECT_EQ(r.static_route->domain, "b.test");
  EXPECT_TRUE(env.fake_dns().queries.empty()) << "an IP route needs no DNS";

  const Outcome other = resolve(env, router, "c.test");
  const Route& w = route_of(other);
  EXPECT_EQ(addresses(w), (Addrs{"192.0.2.10", "2001:db8::10"}));
  EXPECT_EQ(w.hops[0].port, 587);
  EXPECT_EQ(w.hops[0].host, "smarthost.a.test");
  EXPECT_EQ(w.tls, TlsPolicy::required);
  ASSERT_NE(w.static_route, nullptr);
  EXPECT_EQ(w.static_route->auth_user, "relay");
  EXPECT_EQ(env.fake_dns().queries, (std::vector<std::string>{"A smarthost.a.test"}));  // no MX lookup for c.test
}

TEST(Router, StaticRouteHostNotResolvingDefers) {
  DnsEnv env;
  RouterConfig c;
  c.routes.push_back(StaticRoute{"b.test", "gone.a.test", 25, TlsPolicy::opportunistic, "", ""});
  Router router(env, c);
  const Outcome o = resolve(env, router, "b.test");
  const RouteError& e = error_of(o);
  EXPECT_FALSE(e.permanent);
  EXPECT_EQ(e.reply.code, 451);
  EXPECT_EQ(e.reply.enhanced, (smtp::EnhancedCode{4, 4, 3}));
}

// RFC 5321 §5.1: sorted by preference, equal preferences randomised — the same way for the
// same seed, differently for some other seed, always a permutation of the equal set.
TEST(Router, Rfc5321_5_1_MxOrderAndTiesShuffledPerSeed) {
  const auto run = [](std::uint64_t seed) {
    DnsEnv env(seed);
    env.fake_dns().mx.insert_or_assign("b.test", Mx{{20, "mx20.b.test"}, {10, "mx10a.b.test"}, {30, "mx30.b.test"},
                                                    {10, "mx10b.b.test"}, {10, "mx10c.b.test"}, {10, "mx10d.b.test"}});
    int n = 0;
    for (const auto& r : env.fake_dns().mx.at("b.test").value()) env.fake_dns().addresses.insert_or_assign(r.exchange, Addrs{"192.0.2." + std::to_string(++n)});
    Router router(env, RouterConfig{});
    const Outcome o = resolve(env, router, "b.test");
    return hosts(route_of(o));
  };
  const auto first = run(7);
  ASSERT_EQ(first.size(), 6u);
  EXPECT_EQ(std::set<std::string>(first.begin(), first.begin() + 4),
            (std::set<std::string>{"mx10a.b.test", "mx10b.b.test", "mx10c.b.test", "mx10d.b.test"}));
  EXPECT_EQ(first[4], "mx20.b.test");
  EXPECT_EQ(first[5], "mx30.b.test");
  EXPECT_EQ(run(7), first) << "same seed, same order";
  bool differs = false;
  for (std::uint64_t seed = 8; seed < 40 && !differs; ++seed) differs = run(seed) != first;
  EXPECT_TRUE(differs) << "ties are never shuffled";
}

TEST(Router, HopsCarryPreferenceAndEveryAddressInResolverOrderIncludingIpv6) {
  DnsEnv env;
  env.fake_dns().mx.insert_or_assign("b.test", Mx{{10, "mx.b.test."}});  // a trailing dot from a resolver
  env.fake_dns().addresses.insert_or_assign("mx.b.test", Addrs{"2001:DB8::25", "192.0.2.25", "192.0.2.26"});
  Router router(env, RouterConfig{});
  const Outcome o = resolve(env, router, "b.test");
  const Route& r = route_of(o);
  EXPECT_EQ(addresses(r), (Addrs{"2001:db8::25", "192.0.2.25", "192.0.2.26"}));
  for (const auto& h : r.hops) {
    EXPECT_EQ(h.host, "mx.b.test");
    EXPECT_EQ(h.port, 25);
    EXPECT_EQ(h.preference, 10);
  }
  EXPECT_EQ(r.tls, TlsPolicy::opportunistic);
  EXPECT_EQ(r.static_route, nullptr);
}

TEST(Router, Rfc5321_5_1_ImplicitMxWhenThereAreNoMxRecords) {
  DnsEnv env;
  env.fake_dns().mx.insert_or_assign("b.test", Mx{});
  env.fake_dns().addresses.insert_or_assign("b.test", Addrs{"192.0.2.5"});
  Router router(env, RouterConfig{});
  const Outcome o = resolve(env, router, "b.test");
  const Route& r = route_of(o);
  ASSERT_EQ(r.hops.size(), 1u);
  EXPECT_EQ(r.hops[0], (NextHop{"b.test", "192.0.2.5", 25, 0}));

  // Implicit MX without an address: permanent, "no address".
  env.fake_dns().addresses.insert_or_assign("b.test", Addrs{});
  const Outcome none = resolve(env, router, "b.test");
  EXPECT_TRUE(error_of(none).permanent);
  EXPECT_EQ(error_of(none).reply.enhanced, (smtp::EnhancedCode{5, 4, 4}));
}

TEST(Router, Rfc7505_NullMxBouncesWithoutAddressLookups) {
  DnsEnv env;
  env.fake_dns().mx.insert_or_assign("b.test", Mx{{0, "."}});
  Router router(env, RouterConfig{});
  const Outcome o = resolve(env, router, "b.test");
  const RouteError& e = error_of(o);
  EXPECT_TRUE(e.permanent);
  EXPECT_EQ(e.reply.code, 556);
  EXPECT_EQ(e.reply.enhanced, (smtp::EnhancedCode{5, 1, 10}));
  EXPECT_EQ(env.fake_dns().queries, (std::vector<std::string>{"MX b.test"}));

  env.fake_dns().mx.insert_or_assign("c.test", Mx{{0, ""}});  // an empty exchange reads the same
  EXPECT_EQ(error_of(resolve(env, router, "c.test")).reply.code, 556);
  // A "." among real records is not a null MX: it is skipped.
  env.fake_dns().mx.insert_or_assign("d.test", Mx{{0, "."}, {10, "mx.d.test"}});
  env.fake_dns().addresses.insert_or_assign("mx.d.test", Addrs{"192.0.2.4"});
  const Outcome mixed = resolve(env, router, "d.test");
  EXPECT_EQ(addresses(route_of(mixed)), (Addrs{"192.0.2.4"}));
}

TEST(Router, Rfc5321_5_1_NxdomainBouncesServfailDefers) {
  DnsEnv env;
  env.fake_dns().mx.insert_or_assign("slow.test", fail(Errc::unavailable, "SERVFAIL"));
  env.fake_dns().mx.insert_or_assign("late.test", fail(Errc::timeout, "deadline"));
  Router router(env, RouterConfig{});

  const Outcome nx = resolve(env, router, "nx.test");
  EXPECT_TRUE(error_of(nx).permanent);
  EXPECT_EQ(error_of(nx).reply.code, 550);
  EXPECT_EQ(error_of(nx).reply.enhanced, (smtp::EnhancedCode{5, 1, 2}));

  for (const char* d : {"slow.test", "late.test"}) {
    const Outcome o = resolve(env, router, d);
    EXPECT_FALSE(error_of(o).permanent) << d;
    EXPECT_EQ(error_of(o).reply.code, 451) << d;
    EXPECT_EQ(error_of(o).reply.enhanced, (smtp::EnhancedCode{4, 4, 3})) << d;
  }
}

TEST(Router, MxHostsFailingAreSkippedAndOnlyTransientFailuresDefer) {
  DnsEnv env;
  env.fake_dns().mx.insert_or_assign("b.test", Mx{{10, "broken.b.test"}, {20, "gone.b.test"}, {30, "ok.b.test"}});
  env.fake_dns().addresses.insert_or_assign("broken.b.test", fail(Errc::unavailable, "SERVFAIL"));
  env.fake_dns().addresses.insert_or_assign("ok.b.test", Addrs{"192.0.2.30"});
  Router router(env, RouterConfig{});
  const Outcome o = resolve(env, router, "b.test");
  EXPECT_EQ(hosts(route_of(o)), (std::vector<std::string>{"ok.b.test"}));

  env.fake_dns().addresses.erase("ok.b.test");  // now: one transient, two NXDOMAIN
  const Outcome t = resolve(env, router, "b.test");
  EXPECT_FALSE(error_of(t).permanent);
  EXPECT_EQ(error_of(t).reply.code, 451);

  env.fake_dns().addresses.erase("broken.b.test");  // every host NXDOMAIN: MX present but unusable
  const Outcome p = resolve(env, router, "b.test");
  EXPECT_TRUE(error_of(p).permanent);
  EXPECT_EQ(error_of(p).reply.enhanced, (smtp::EnhancedCode{5, 4, 4}));
}

// RFC 5321 §5.1: "all records at that preference level and higher-numbered ones MUST be
// discarded"; none left: an error, the message returned (554 5.4.6).
TEST(Router, Rfc5321_5_1_MxPointingToUsDropsThatLevelAndBelow) {
  DnsEnv env;
  env.fake_dns().mx.insert_or_assign("b.test", Mx{{10, "mx1.b.test"}, {20, "MX.A.TEST"}, {20, "mx2.b.test"}, {30, "mx3.b.test"}});
  env.fake_dns().addresses.insert_or_assign("mx1.b.test", Addrs{"192.0.2.1"});
  env.fake_dns().addresses.insert_or_assign("mx2.b.test", Addrs{"192.0.2.2"});
  env.fake_dns().addresses.insert_or_assign("mx3.b.test", Addrs{"192.0.2.3"});
  RouterConfig c;
  c.own_names = {"mx.a.test"};
  c.own_addresses = {"198.51.100.7", "2001:db8::7"};
  Router router(env, c);
  const Outcome o = resolve(env, router, "b.test");
  EXPECT_EQ(hosts(route_of(o)), (std::vector<std::string>{"mx1.b.test"}));
  EXPECT_EQ(std::count(env.fake_dns().queries.begin(), env.fake_dns().queries.end(), "A mx3.b.test"), 0)
      << "discarded hosts are not even looked up";

  // We are the best MX: nothing left.
  env.fake_dns().mx.insert_or_assign("c.test", Mx{{5, "mx.a.test"}, {10, "mx1.b.test"}});
  const Outcome best = resolve(env, router, "c.test");
  EXPECT_TRUE(error_of(best).permanent);
  EXPECT_EQ(error_of(best).reply.code, 554);
  EXPECT_EQ(error_of(best).reply.enhanced, (smtp::EnhancedCode{5, 4, 6}));

  // By address: mx-other.d.test resolves to one of ours (written differently); its level
  // goes, including a host of the same preference already resolved.
  env.fake_dns().mx.insert_or_assign("d.test", Mx{{10, "mx1.b.test"}, {20, "mx2.b.test"}, {20, "alias-of-us.d.test"}, {30, "mx3.b.test"}});
  env.fake_dns().addresses.insert_or_assign("alias-of-us.d.test", Addrs{"2001:DB8:0::7"});
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {  // whichever order the tie comes in
    DnsEnv e2(seed);
    e2.fake_dns().mx = env.fake_dns().mx;
    e2.fake_dns().addresses = env.fake_dns().addresses;
    Router r2(e2, c);
    const Outcome d = resolve(e2, r2, "d.test");
    EXPECT_EQ(hosts(route_of(d)), (std::vector<std::string>{"mx1.b.test"})) << seed;
  }

  // Implicit MX resolving to us.
  env.fake_dns().mx.insert_or_assign("e.test", Mx{});
  env.fake_dns().addresses.insert_or_assign("e.test", Addrs{"198.51.100.7"});
  EXPECT_EQ(error_of(resolve(env, router, "e.test")).reply.code, 554);
}

TEST(Router, AddressLiterals) {
  DnsEnv env;
  RouterConfig c;
  c.own_addresses = {"198.51.100.7"};
  c.routes.push_back(StaticRoute{"*", "192.0.2.99", 25, TlsPolicy::opportunistic, "", ""});  // not for literals
  Router router(env, c);
  const Outcome v4 = resolve(env, router, "[192.0.2.1]");
  ASSERT_EQ(route_of(v4).hops.size(), 1u);
  EXPECT_EQ(route_of(v4).hops[0], (NextHop{"192.0.2.1", "192.0.2.1", 25, 0}));
  EXPECT_EQ(route_of(v4).static_route, nullptr);
  const Outcome v6 = resolve(env, router, "[IPv6:2001:DB8::1]");
  EXPECT_EQ(addresses(route_of(v6)), (Addrs{"2001:db8::1"}));
  EXPECT_TRUE(env.fake_dns().queries.empty());

  EXPECT_EQ(error_of(resolve(env, router, "[198.51.100.7]")).reply.code, 554);  // ours
  for (const char* bad : {"[300.1.1.1]", "[2001:db8::1]", "[IPv6:192.0.2.1]", "[]", "[192.0.2.1"}) {
    const Outcome o = resolve(env, router, bad);
    EXPECT_TRUE(error_of(o).permanent) << bad;
    EXPECT_EQ(error_of(o).reply.enhanced, (smtp::EnhancedCode{5, 1, 2})) << bad;
  }
}

TEST(Router, CapsOnMxHostsAndAddressesPerHost) {
  DnsEnv env;
  Mx records;
  for (int i = 0; i < 6; ++i) {
    const std::string h = "mx" + std::to_string(i) + ".b.test";
    records.push_back(rt::MxRecord{static_cast<std::uint16_t>(10 * (i + 1)), h});
    Addrs a;
    for (int j = 0; j < 5; ++j) a.push_back("192.0." + std::to_string(i) + "." + std::to_string(j + 1));
    env.fake_dns().addresses.insert_or_assign(h, a);
  }
  env.fake_dns().mx.insert_or_assign("b.test", records);
  RouterConfig c;
  c.max_mx_hosts = 3;
  c.max_addresses_per_host = 2;
  Router router(env, c);
  const Outcome o = resolve(env, router, "b.test");
  EXPECT_EQ(addresses(route_of(o)), (Addrs{"192.0.0.1", "192.0.0.2", "192.0.1.1", "192.0.1.2", "192.0.2.1", "192.0.2.2"}));
  EXPECT_EQ(env.fake_dns().queries.size(), 1u + 3u) << "hosts past the cap are not looked up";
}

TEST(Router, SameAddressUnderTwoMxHostsIsTriedOnce) {
  DnsEnv env;
  env.fake_dns().mx.insert_or_assign("b.test", Mx{{10, "mx1.b.test"}, {20, "mx2.b.test"}});
  env.fake_dns().addresses.insert_or_assign("mx1.b.test", Addrs{"192.0.2.1"});
  env.fake_dns().addresses.insert_or_assign("mx2.b.test", Addrs{"192.0.2.1", "192.0.2.2"});
  Router router(env, RouterConfig{});
  const Outcome o = resolve(env, router, "b.test");
  EXPECT_EQ(addresses(route_of(o)), (Addrs{"192.0.2.1", "192.0.2.2"}));
}

TEST(Router, CanonicalAddress) {
  EXPECT_EQ(canonical_address("2001:DB8:0:0::1"), "2001:db8::1");
  EXPECT_EQ(canonical_address("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(canonical_address("Sim-Host"), "sim-host");
}

}  // namespace
}  // namespace mail::node
