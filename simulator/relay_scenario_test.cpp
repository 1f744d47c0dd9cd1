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
  s.relay->retry = smtp::RetryPolicy{};  // 5 min doubling, 1 h cap, 5 days, delay DSN at 4 h
  s.relay->unreachable = {1};            // b.test's MX answers nothing, ever
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
  // The last attempt is the one after which the next retry would fall past arrival + 5 days
  // (retry_schedule.h): at most one backoff cap (1 h) before the lifetime's end.
  EXPECT_GE(r.virtual_us, std::chrono::duration_cast<Duration>(119h).count()) << describe(r);
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
