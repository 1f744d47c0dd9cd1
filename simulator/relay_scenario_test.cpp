// Relay scenarios end to end (issue 13): the default retry schedule (RFC 5321 §4.5.4.1:
// 5 min doubling, 1 h cap, 5 days) runs five virtual days against an organisation whose MX
// never answers, and every message for it bounces after the lifetime with a valid RFC 3464
// DSN (Action: failed, Status: 5.4.7); relay-basic and relay-faults keep every invariant
// and give the same hash twice; drops after the dot stay explainable after the heal.
#include <gtest/gtest.h>

#include "scenario.h"
#include "sim_disk.h"
#include "store/maildir.h"

namespace mail::sim {
namespace {

using namespace std::chrono_literals;

std::string describe(const RunReport& r) {
  std::string out = summary_line(r);
  for (const auto& v : r.violations) out += "\n  " + v.invariant + ": " + v.detail;
  return out;
}

TEST(RelayScenario, DefaultScheduleBouncesAfterFiveDaysWithAValidDsn) {
  Scenario s = *builtin_scenario("relay-basic");
  for (RelayHost& h : s.relay->hosts) h.retry = smtp::RetryPolicy{};  // 5 min doubling, 1 h cap, 5 days, delay DSN at 4 h
  s.relay->hosts[1].unreachable = true;  // b.test's MX answers nothing, ever
  s.relay->remote_recipient_ppm = 1'000'000;
  s.workload.unknown_recipient_ppm = 0;
  s.workload.sessions = 6;
  s.workload.liveness_sessions = 0;
  s.drain_phase = 7 * 24h;
  ScenarioRun run(s, 7);
  while (run.advance(1'000'000)) {
  }
  const RunReport& r = run.report();
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_GT(r.relay_bounced, 0u) << describe(r);
  // The last attempt is made at arrival + 5 days (retry_schedule.h), then the bounce.
  EXPECT_GE(r.virtual_us, std::chrono::duration_cast<Duration>(120h).count()) << describe(r);
  EXPECT_LT(r.virtual_us, std::chrono::duration_cast<Duration>(7 * 24h).count()) << describe(r);
  // Every retry of the five days was measured against the schedule (about 120 a recipient).
  EXPECT_GT(r.relay_retries_checked, 100u * r.relay_bounced) << describe(r);
  // The senders at a.test hold the failure reports: from <>, Action: failed, 5.4.7.
  World& w = run.world();
  const DiskState& disk = w.disk_state(w.host_by_name("mx1"));
  std::size_t failed = 0, delayed = 0;
  for (const auto& u : s.server.directory.users) {
    const std::string dir = store::maildir_folder_path(s.server.data_dir, u.name, store::MaildirFolder::new_mail);
    (void)disk.visit(dir, [&](std::string_view, bool, std::string_view data) {
      if (data.find("multipart/report") == std::string_view::npos) return;
      EXPECT_EQ(data.substr(0, 15), "Return-Path: <>");
      EXPECT_NE(data.find("report-type=delivery-status"), std::string_view::npos);
      EXPECT_NE(data.find("Reporting-MTA: dns; mx1"), std::string_view::npos) << data.substr(0, 2000);
      if (data.find("Action: failed") != std::string_view::npos) {
        ++failed;
        EXPECT_NE(data.find("Status: 5.4.7"), std::string_view::npos) << data.substr(0, 2000);
        EXPECT_NE(data.find("X-Sim-Id: "), std::string_view::npos);
      }
      if (data.find("Action: delayed") != std::string_view::npos) ++delayed;
    });
  }
  EXPECT_GT(failed, 0u);
  EXPECT_GT(delayed, 0u);  // NOTIFY default includes DELAY: the 4 h warning came first
  std::printf("five virtual days: %s\n", summary_line(r).c_str());
}

TEST(RelayScenario, BasicAndFaultsKeepEveryInvariantAndReplay) {
  for (const char* name : {"relay-basic", "relay-faults"}) {
    const Scenario s = *builtin_scenario(name);
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
      const RunReport a = run_scenario(s, seed);
      const RunReport b = run_scenario(s, seed);
      EXPECT_TRUE(a.ok()) << describe(a);
      EXPECT_EQ(a.trace_hash, b.trace_hash) << name << " seed " << seed;
      EXPECT_TRUE(a.relay);
      EXPECT_GT(a.relay_delivered, 0u) << describe(a);
    }
  }
}

TEST(RelayScenario, BasicBouncesUnknownUsersBackToTheirSenders) {
  const RunReport r = run_scenario(*builtin_scenario("relay-basic"), 1);
  ASSERT_TRUE(r.ok()) << describe(r);
  EXPECT_GT(r.relay_bounced, 0u) << describe(r);
  EXPECT_GT(r.relay_success_dsns, 0u) << describe(r);  // NOTIFY=SUCCESS reports
}

}  // namespace
}  // namespace mail::sim

namespace mail::sim {
namespace {

TEST(RelayScenarioToml, RelayTablesFollowTheServerConfigurationsNames) {
  auto s = parse_scenario_toml(R"(
base = "relay-basic"
name = "relay-toml"
[relay]
domains = ["x.test", "y.test"]
first_retry = "2m"
max_retry = "20m"
lifetime = "3h"
notify_success_ppm = 0
[hosts.mx2.relay]
trusted_networks = ["10.0.2.0/24", "192.0.2.0/24"]
routes = [{ domain = "x.test", host = "10.0.1.1", port = 25 }]
unreachable = true
)", "relay.toml");
  ASSERT_TRUE(s.ok()) << s.error().detail;
  ASSERT_TRUE(s->relay.has_value());
  ASSERT_EQ(s->relay->hosts.size(), 2u);
  EXPECT_EQ(s->relay->hosts[0].domain, "x.test");
  EXPECT_EQ(s->relay->hosts[1].domain, "y.test");
  EXPECT_EQ(s->relay->hosts[0].retry.first, Duration(2min));
  EXPECT_EQ(s->relay->hosts[1].retry.max, Duration(20min));
  EXPECT_EQ(s->relay->hosts[1].retry.lifetime, Duration(3h));
  EXPECT_EQ(s->relay->notify_success_ppm, 0u);
  EXPECT_FALSE(s->relay->hosts[0].unreachable);
  EXPECT_TRUE(s->relay->hosts[1].unreachable);
  EXPECT_EQ(s->relay->hosts[0].trusted_networks.size(), 1u);
  EXPECT_EQ(s->relay->hosts[1].trusted_networks.size(), 2u);
  ASSERT_EQ(s->relay->hosts[1].routes.size(), 1u);
  EXPECT_EQ(s->relay->hosts[1].routes[0].host, "10.0.1.1");
  // x.test's MX answers nothing, but mx2's static route to x.test (tried before MX) reaches
  // mx1: with no unknown users, everything is delivered and nothing bounces.
  Scenario run = *s;
  run.relay->hosts[0].unreachable = true;
  run.relay->hosts[1].unreachable = false;
  run.workload.unknown_recipient_ppm = 0;
  const RunReport r = run_scenario(run, 3);
  EXPECT_TRUE(r.ok()) << describe(r);
  EXPECT_GT(r.relay_delivered, 0u) << describe(r);
  EXPECT_EQ(r.relay_bounced, 0u) << describe(r);
  // Without the route the same mail to x.test bounces after the 3 h lifetime.
  run.relay->hosts[1].routes.clear();
  const RunReport no_route = run_scenario(run, 3);
  EXPECT_TRUE(no_route.ok()) << describe(no_route);
  EXPECT_GT(no_route.relay_bounced, 0u) << describe(no_route);
}

TEST(RelayScenarioToml, ErrorsNameTheKey) {
  auto bad = [](std::string_view text) {
    auto s = parse_scenario_toml(text, "r.toml");
    EXPECT_FALSE(s.ok());
    return s.ok() ? std::string() : s.error().detail;
  };
  EXPECT_NE(bad("base = \"relay-basic\"\n[relay]\ntrusted_networks = [\"10.0.2.0/33\"]\n").find("relay.trusted_networks"),
            std::string::npos);
  EXPECT_NE(bad("base = \"relay-basic\"\n[relay]\nfirst_retry = \"10m\"\nmax_retry = \"1m\"\n").find("hosts.mx1.relay"),
            std::string::npos);
  EXPECT_NE(bad("base = \"relay-basic\"\n[relay]\ndomains = [\"a.test\", \"a.test\"]\n").find("belongs to two hosts"),
            std::string::npos);
  EXPECT_NE(bad("[hosts.mx1.relay]\ndomain = \"a.test\"\n").find("needs a [relay] table"), std::string::npos);
  EXPECT_NE(bad("base = \"relay-basic\"\n[hosts.mx1.relay]\nlifetim = \"1h\"\n").find("did you mean 'lifetime'"),
            std::string::npos);
}

}  // namespace
}  // namespace mail::sim
