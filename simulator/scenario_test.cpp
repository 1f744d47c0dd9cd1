// Scenarios end to end: the real SMTP server and client over the simulated world.
// Determinism (same seed => same trace hash, also with two Worlds interleaved in one
// thread, over 200 seeds), the checkers catching a deliberately broken fsync, TOML files.
#include "simulator/scenario.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace mail::sim {
namespace {

// Small but with every kind of fault, so 200 seeds stay quick under ASan.
Scenario tiny() {
  Scenario s = *builtin_scenario("smtp-faults");
  s.name = "tiny-faults";
  s.workload.sessions = 4;
  s.workload.liveness_sessions = 1;
  s.workload.session_start = DurationRange{0s, 50s};
  s.workload.message_bytes = Range{50, 800};
  s.fault_phase = 1min;
  s.faults.crash_interval = DurationRange{10s, 40s};
  s.faults.partition_interval = DurationRange{5s, 30s};
  return s;
}

std::string violations(const RunReport& r) {
  std::string out;
  for (const auto& v : r.violations) out += v.invariant + ": " + v.detail + "\n";
  return out + r.trace_tail;
}

TEST(Scenario, BuiltinsExist) {
  for (const auto& n : builtin_scenario_names()) {
    auto s = builtin_scenario(n);
    ASSERT_TRUE(s.has_value()) << n;
    EXPECT_EQ(s->name, n);
  }
  EXPECT_FALSE(builtin_scenario("nope").has_value());
}

TEST(Scenario, BasicDeliversEverythingAndIsRepeatable) {
  const Scenario s = *builtin_scenario("smtp-basic");
  const RunReport a = run_scenario(s, 7);
  EXPECT_TRUE(a.ok()) << violations(a);
  EXPECT_GT(a.acked, 30u);
  EXPECT_EQ(a.unknown, 0u);
  EXPECT_EQ(a.not_sent, 0u);
  const RunReport b = run_scenario(s, 7);
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.steps, b.steps);
  const RunReport c = run_scenario(s, 8);
  EXPECT_NE(a.trace_hash, c.trace_hash);
}

// smtp-submission without faults, so every outcome is exact: a good login is
// authenticated (235) and acked unless every recipient was unknown; a wrong password is
// refused with the server's 535 and no AUTH with its 530 at MAIL; port 25 works as before.
TEST(Scenario, SubmissionAuthenticatesAndRefusesTheRest) {
  Scenario s = *builtin_scenario("smtp-submission");
  s.workload.abrupt_disconnect_ppm = 0;
  s.faults.net.stall_ppm = 0;
  s.faults.net.reset_ppm = 0;
  s.faults.crash_interval.reset();
  s.faults.crash_after_ack_ppm = 0;
  s.faults.partition_interval.reset();
  std::map<SubmitAuth, std::size_t> seen;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    ScenarioRun run(s, seed);
    while (run.advance(1'000'000)) {
    }
    const RunReport& r = run.report();
    ASSERT_TRUE(r.ok()) << violations(r);
    EXPECT_GT(r.authenticated_sessions, 0u);
    EXPECT_LE(r.authenticated_sessions, r.submission_sessions);
    for (const auto& e : run.ledger().entries()) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " message " + std::to_string(e.id) + " " + e.reply);
      ++seen[e.submit];
      switch (e.submit) {
        case SubmitAuth::good:
          EXPECT_TRUE(e.authenticated);
          EXPECT_TRUE(e.outcome == LedgerEntry::Outcome::acked || e.reply.rfind("550", 0) == 0);
          break;
        case SubmitAuth::bad_password:
          EXPECT_FALSE(e.authenticated);
          EXPECT_EQ(e.outcome, LedgerEntry::Outcome::refused);
          EXPECT_EQ(e.reply.substr(0, 3), "535");
          break;
        case SubmitAuth::no_auth:
          EXPECT_FALSE(e.authenticated);
          EXPECT_EQ(e.outcome, LedgerEntry::Outcome::refused);
          EXPECT_EQ(e.reply.substr(0, 3), "530");
          break;
        case SubmitAuth::none:
          EXPECT_FALSE(e.authenticated);
          EXPECT_TRUE(e.outcome == LedgerEntry::Outcome::acked || e.reply.rfind("550", 0) == 0);
          break;
      }
    }
  }
  // Every kind of session occurred.
  EXPECT_GT(seen[SubmitAuth::good], 0u);
  EXPECT_GT(seen[SubmitAuth::bad_password], 0u);
  EXPECT_GT(seen[SubmitAuth::no_auth], 0u);
  EXPECT_GT(seen[SubmitAuth::none], 0u);
}

TEST(Scenario, InterleavedWorldsDoNotInfluenceEachOther) {
  const Scenario s = tiny();
  const RunReport solo3 = run_scenario(s, 3);
  const RunReport solo4 = run_scenario(s, 4);
  ScenarioRun a(s, 3);
  ScenarioRun b(s, 4);
  bool more_a = true, more_b = true;
  while (more_a || more_b) {
    if (more_a) more_a = a.advance(37);
    if (more_b) more_b = b.advance(53);
  }
  EXPECT_EQ(a.report().trace_hash, solo3.trace_hash);
  EXPECT_EQ(b.report().trace_hash, solo4.trace_hash);
}

TEST(Scenario, TwoHundredSeedsAreDeterministicAndClean) {
  const Scenario s = tiny();
  std::map<std::uint64_t, std::uint64_t> hashes;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    const RunReport r = run_scenario(s, seed);
    EXPECT_TRUE(r.ok()) << "seed " << seed << "\n" << violations(r);
    hashes[seed] = r.trace_hash;
  }
  for (std::uint64_t seed = 1; seed <= 200; seed += 1) {
    EXPECT_EQ(run_scenario(s, seed).trace_hash, hashes[seed]) << "seed " << seed;
  }
  std::set<std::uint64_t> distinct;
  for (const auto& [seed, h] : hashes) distinct.insert(h);
  EXPECT_EQ(distinct.size(), hashes.size());
}

TEST(Scenario, LyingFsyncIsCaught) {
  // The checker must be able to fail: "250 before fsync" seen from the outside.
  const Scenario s = *builtin_scenario("smtp-crash");
  RunOptions bug;
  bug.lying_sync = true;
  std::uint64_t caught = 0;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    const RunReport r = run_scenario(s, seed, bug);
    bool lost = false;
    for (const auto& v : r.violations) lost = lost || v.invariant == "lost-after-ack";
    caught += lost;
  }
  EXPECT_EQ(caught, 3u);
}

TEST(Scenario, StepBudgetIsAViolationNotAHang) {
  Scenario s = tiny();
  s.max_steps = 200;
  const RunReport r = run_scenario(s, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.violations.front().invariant, "step-budget");
}

TEST(ScenarioToml, ParsesEveryTable) {
  const char* text = R"(
base = "smtp-faults"
name = "custom"
description = "from a file"
servers = 2
client_hosts = 3
provision_data_dir = true

[directory]
domains = ["a.test", "b.test"]
users = ["ann", { name = "ben", aliases = ["b"] }]
data_dir = "/srv/mail"

[workload]
sessions = 7
session_start = ["1s", "2m"]
transactions_per_session = [1, 4]
recipients = [1, 2]
message_bytes = [100, 900]
pipelining_ppm = 1000000
chunking_ppm = 0
abrupt_disconnect_ppm = 10
unknown_recipient_ppm = 20
dot_line_ppm = 30
liveness_sessions = 2
connect_timeout = "20s"

[phases]
faults = "90s"
settle = "5s"
drain = "10m"
max_steps = 1000000

[net]
latency = { min = "1ms", max = "3ms", slow_ppm = 100, slow_max = "1s" }
segment_bytes_max = 500
split_ppm = 1
bytewise_ppm = 2
stall_ppm = 3
stall = ["10ms", "20ms"]
reset_ppm = 4
reset_offset_max = 99
window_bytes = 65536
backlog_max = 10
syn_retry = "2s"
retransmit = "300ms"
give_up = "5m"
crash_sends_reset = false

[disk]
latency = ["1us", "2us"]
sync_latency = ["1ms", "9ms"]
read_eio_ppm = 5
write_eio_ppm = 6
sync_eio_ppm = 7
quota_bytes = 123456
tear_ppm = 8

[faults]
crash_interval = "none"
downtime = ["2s", "3s"]
crash_after_sync_ppm = 9
crash_after_ack_ppm = 10
partition_interval = ["1m", "2m"]
partition_duration = ["1s", "2s"]
one_way_partition_ppm = 11
buggify = false
)";
  auto r = parse_scenario_toml(text, "test.toml");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  const Scenario& s = *r;
  EXPECT_EQ(s.name, "custom");
  EXPECT_EQ(s.servers, 2u);
  EXPECT_EQ(s.client_hosts, 3u);
  ASSERT_EQ(s.server.directory.users.size(), 2u);
  EXPECT_EQ(s.server.directory.users[1].aliases.at(0), "b");
  EXPECT_EQ(s.server.data_dir, "/srv/mail");
  EXPECT_EQ(s.workload.sessions, 7u);
  EXPECT_EQ(s.workload.session_start.max, 2min);
  EXPECT_EQ(s.workload.connect_timeout, 20s);
  EXPECT_EQ(s.fault_phase, 90s);
  EXPECT_EQ(s.faults.net.latency.slow_max, 1s);
  EXPECT_EQ(s.faults.net.window_bytes, 65536u);
  EXPECT_FALSE(s.faults.net.crash_sends_reset);
  EXPECT_EQ(s.faults.disk.quota_bytes, 123456u);
  EXPECT_FALSE(s.faults.crash_interval.has_value());
  EXPECT_EQ(s.faults.partition_interval->max, 2min);
  EXPECT_FALSE(s.faults.buggify);
}

TEST(ScenarioToml, ErrorsNameTheProblem) {
  auto unknown = parse_scenario_toml("[workload]\nsesions = 3\n", "x.toml");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().detail.find("workload.sesions"), std::string::npos) << unknown.error().detail;
  auto dur = parse_scenario_toml("[phases]\nfaults = \"10 minutes\"\n", "x.toml");
  ASSERT_FALSE(dur.ok());
  EXPECT_NE(dur.error().detail.find("phases.faults"), std::string::npos);
  // 9223372036855 s is past INT64_MAX microseconds: it used to wrap into a negative phase.
  auto big = parse_scenario_toml("[phases]\nfaults = \"9223372036855s\"\n", "x.toml");
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().detail.find("phases.faults: must be a duration"), std::string::npos) << big.error().detail;
  EXPECT_NE(big.error().detail.find("too large"), std::string::npos) << big.error().detail;
  auto syntax = parse_scenario_toml("servers = = 1\n", "x.toml");
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.error().detail.find("x.toml:1"), std::string::npos) << syntax.error().detail;
  auto base = parse_scenario_toml("base = \"nope\"\n", "x.toml");
  EXPECT_FALSE(base.ok());
}

TEST(ScenarioToml, SubmissionTable) {
  auto r = parse_scenario_toml(R"(
base = "smtp-tls"
[submission]
port = 2587
logins = [{ name = "alice", password = "pw" }]
[workload]
submission_ppm = 1000000
bad_password_ppm = 10
no_auth_ppm = 20
)",
                               "sub.toml");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->server.submission_port, 2587);
  ASSERT_EQ(r->logins.size(), 1u);
  EXPECT_EQ(r->logins[0].password, "pw");
  EXPECT_EQ(r->workload.submission_ppm, 1'000'000u);
  EXPECT_EQ(r->workload.bad_password_ppm, 10u);
  EXPECT_EQ(r->workload.no_auth_ppm, 20u);
  const auto run = run_scenario(*r, 1);
  EXPECT_TRUE(run.ok()) << violations(run);
  EXPECT_GT(run.authenticated_sessions, 0u);

  for (const char* bad : {"base = \"smtp-basic\"\n[workload]\nsubmission_ppm = 1\n",  // no TLS
                          "base = \"smtp-tls\"\n[workload]\nsubmission_ppm = 1\n",    // no port, no logins
                          "[submission]\nport = 70000\n", "[submission]\nlogins = [{ name = \"a/b\", password = \"x\" }]\n",
                          "[submission]\nlogins = [{ name = \"a\", pass = \"x\" }]\n"}) {
    EXPECT_FALSE(parse_scenario_toml(bad, "bad.toml").ok()) << bad;
  }
}

// Every kind of error carries FILE:LINE and the key, as the server configuration's do
// ("FILE:LINE: key: problem"); syntax errors also the column.
TEST(ScenarioToml, ErrorsCarryTheLine) {
  struct Case {
    std::string_view toml;
    std::string_view error;
  };
  const Case cases[] = {
      {"# comment\n[workload]\nsessions = 3\nsesions = 3\n",
       "s.toml:4: workload.sesions: unknown key (did you mean 'sessions'?)"},
      {"\n[phases]\nzzz = 1\n", "s.toml:3: phases.zzz: unknown key (known keys: faults, settle, drain, max_steps)"},
      {"name = \"x\"\nservers = \"two\"\n", "s.toml:2: servers: must be an integer"},
      {"\nservers = 0\n", "s.toml:2: servers: must be between 1 and 200 (got 0)"},
      {"[workload]\nsessions = -3\n", "s.toml:2: workload.sessions: must be between 0 and 4294967295 (got -3)"},
      // Used to wrap silently into the 32-bit field.
      {"[workload]\nsessions = 5000000000\n",
       "s.toml:2: workload.sessions: must be between 0 and 4294967295 (got 5000000000)"},
      {"[net]\n\nsplit_ppm = 1000001\n", "s.toml:3: net.split_ppm: must be between 0 and 1000000 (got 1000001)"},
      {"[net]\nwindow_bytes = 0\n", "s.toml:2: net.window_bytes: must be between 1 and 9223372036854775807 (got 0)"},
      {"tls = 1\n", "s.toml:1: tls: must be true or false"},
      {"\n\nname = 3\n", "s.toml:3: name: must be a string"},
      {"[phases]\nsettle = \"10 minutes\"\n",
       "s.toml:2: phases.settle: must be a duration like \"500ms\", \"30s\", \"5m\" (\"10 minutes\": unknown unit "
       "'minutes' (use us, ms, s, m, min, h, d))"},
      {"[net]\nlatency = [\"1ms\"]\n", "s.toml:2: net.latency: must be [min, max] durations (or \"none\")"},
      {"[net]\nlatency = {min = \"2ms\", max = \"1ms\"}\n", "s.toml:2: net.latency: min > max"},
      {"[net]\nlatency = {min = \"1ms\", mx = \"2ms\"}\n",
       "s.toml:2: net.latency.mx: unknown key (did you mean 'max'?)"},
      {"[workload]\nrecipients = [3, 1]\n",
       "s.toml:2: workload.recipients: must be [min, max] integers, 0 <= min <= max"},
      {"[workload]\ntransactions_per_session = [0, 0]\n",
       "s.toml:2: workload.transactions_per_session: must allow >= 1"},
      {"workload = 3\n", "s.toml:1: workload: must be a table"},
      {"[directory]\ndomains = [\"a.test\",\n  7]\n", "s.toml:3: directory.domains: must be strings"},
      {"[directory]\nusers = [\"ok\", \"a/b\"]\n", "s.toml:2: directory.users: 'a/b' must be 1-64 of a-z A-Z 0-9 . _ - (not starting with . or -, no ..)"},
      {"[directory]\nusers = [{name = \"a\", alias = [\"b\"]}]\n",
       "s.toml:2: directory.users[].alias: unknown key (did you mean 'aliases'?)"},
      {"[directory]\nusers = [3]\n", "s.toml:2: directory.users: must be names or tables {name, aliases}"},
      {"\nbase = \"smtp-fault\"\n",
       "s.toml:2: base: no built-in scenario named 'smtp-fault' (did you mean 'smtp-faults'?)"},
      {"[faults]\ncrash_interval = [\"5m\", \"1m\"]\n", "s.toml:2: faults.crash_interval: min > max"},
      {"servers = = 1\n", "s.toml:1:11: TOML syntax: Error while parsing value: could not determine value type"},
  };
  for (const auto& c : cases) {
    auto r = parse_scenario_toml(c.toml, "s.toml");
    EXPECT_EQ(r.ok() ? std::string("ok") : r.error().detail, c.error) << c.toml;
  }
  auto unclosed = parse_scenario_toml("ok = 1\n\n[net\n", "s.toml");
  ASSERT_FALSE(unclosed.ok());
  EXPECT_EQ(unclosed.error().detail.substr(0, 10), "s.toml:3:5");
}

TEST(ScenarioToml, AFileScenarioRuns) {
  auto r = parse_scenario_toml(R"(
name = "two-servers"
servers = 2
[workload]
sessions = 6
session_start = ["0s", "30s"]
[phases]
faults = "1m"
)",
                               "inline");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  const RunReport rep = run_scenario(*r, 5);
  EXPECT_TRUE(rep.ok()) << violations(rep);
  EXPECT_GT(rep.acked, 5u);
}

}  // namespace
}  // namespace mail::sim
