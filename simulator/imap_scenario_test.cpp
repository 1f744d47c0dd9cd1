// The IMAP part of a scenario (issue 14) beyond the built-in imap-concurrent: the [imap]
// table of scenario files (every key, and errors that name the key), the operation mix and
// the liveness sessions' servers in the plans, and IMAP on two server hosts end to end (each
// host its own store, each read in full by its own liveness session, every check clean).
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "simulator/scenario.h"

namespace mail::sim {
namespace {

std::string violations(const RunReport& r) {
  std::string out;
  for (const auto& v : r.violations) out += v.invariant + ": " + v.detail + "\n";
  return out + r.trace_tail;
}

TEST(ImapScenarioToml, ParsesEveryImapKey) {
  auto r = parse_scenario_toml(R"(
base = "imap-concurrent"
servers = 3
[imap]
servers = 2
user = "alice"
sessions = 5
session_start = ["1s", "2m"]
ops_per_session = [2, 6]
folders = ["Trash", "Drafts", "Junk"]
message_bytes = [100, 900]
idle = ["2s", "4s"]
abrupt_disconnect_ppm = 7
liveness_sessions = 2
command_timeout = "45s"
index_loss_ppm = 123
[imap.mix]
append = 1
fetch = 2
store = 3
expunge = 4
uid_expunge = 5
move = 6
idle = 7
noop = 8
status = 9
select = 10
)",
                               "imap.toml");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  ASSERT_TRUE(r->imap.has_value());
  const ImapScenario& im = *r->imap;
  EXPECT_EQ(im.servers, 2u);
  EXPECT_EQ(im.index_loss_ppm, 123u);
  const ImapWorkloadConfig& w = im.workload;
  EXPECT_EQ(w.user, "alice");
  EXPECT_EQ(w.sessions, 5u);
  EXPECT_EQ(w.session_start.min, 1s);
  EXPECT_EQ(w.session_start.max, 2min);
  EXPECT_EQ(w.ops_per_session.min, 2u);
  EXPECT_EQ(w.ops_per_session.max, 6u);
  EXPECT_EQ(w.folders, (std::vector<std::string>{"Trash", "Drafts", "Junk"}));
  EXPECT_EQ(w.message_bytes.max, 900u);
  EXPECT_EQ(w.idle.max, 4s);
  EXPECT_EQ(w.abrupt_disconnect_ppm, 7u);
  EXPECT_EQ(w.liveness_sessions, 2u);
  EXPECT_EQ(w.command_timeout, 45s);
  EXPECT_EQ(w.mix.append, 1u);
  EXPECT_EQ(w.mix.uid_expunge, 5u);
  EXPECT_EQ(w.mix.select, 10u);
  EXPECT_EQ(w.mix.total(), 55u);
}

// A file that names no IMAP key keeps the built-in's IMAP part as it is (its hashes too).
TEST(ImapScenarioToml, NoImapKeysIsTheBuiltin) {
  auto r = parse_scenario_toml("base = \"imap-concurrent\"\n", "b.toml");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  const Scenario b = *builtin_scenario("imap-concurrent");
  ASSERT_TRUE(r->imap.has_value());
  EXPECT_EQ(r->imap->servers, b.imap->servers);
  EXPECT_EQ(r->imap->index_loss_ppm, b.imap->index_loss_ppm);
  EXPECT_EQ(r->imap->workload.sessions, b.imap->workload.sessions);
  EXPECT_EQ(r->imap->workload.mix.total(), 100u);
  EXPECT_EQ(run_scenario(*r, 4).trace_hash, run_scenario(b, 4).trace_hash);
}

TEST(ImapScenarioToml, ErrorsNameTheKey) {
  struct Case {
    std::string_view toml;
    std::string_view error;
  };
  const std::string base = "base = \"imap-concurrent\"\n";
  const Case cases[] = {
      {"[imap]\nsesions = 3\n", "i.toml:3: imap.sesions: unknown key (did you mean 'sessions'?)"},
      {"[imap.mix]\nfetch = 1\nmove = 1\nmvoe = 2\n", "i.toml:5: imap.mix.mvoe: unknown key (did you mean 'move'?)"},
      {"[imap]\nfolders = [\"Drafts\", \"INBOX\"]\n",
       "i.toml:3: imap.folders: 'INBOX': INBOX belongs to the SMTP checks; must be a non-empty array of folders every "
       "account has (Drafts, Sent, Trash, Junk, Archive)"},
      {"[imap]\nfolders = [\"Work\"]\n",
       "i.toml:3: imap.folders: 'Work': must be a non-empty array of folders every account has (Drafts, Sent, Trash, "
       "Junk, Archive)"},
      {"[imap]\nfolders = []\n",
       "i.toml:3: imap.folders: must be a non-empty array of folders every account has (Drafts, Sent, Trash, Junk, "
       "Archive)"},
      {"[imap]\nfolders = [\"Trash\", \"Trash\"]\n", "i.toml:3: imap.folders: 'Trash' twice"},
      {"[imap]\nmix = { append = 0, fetch = 0, store = 0, expunge = 0, uid_expunge = 0, move = 0, idle = 0, noop = 0, "
       "status = 0, select = 0 }\n",
       "i.toml:3: imap.mix: at least one weight must be > 0"},
      {"[imap]\nservers = 2\n", "i.toml:3: imap.servers: 2 IMAP server hosts, but the scenario has servers = 1"},
      {"[imap]\nservers = 0\n", "i.toml:3: imap.servers: must be between 1 and 200 (got 0)"},
      {"[imap]\nuser = \"bob\"\n", "i.toml:3: imap.user: 'bob' is not in submission.logins"},
      {"[imap]\nindex_loss_ppm = 2000000\n",
       "i.toml:3: imap.index_loss_ppm: must be between 0 and 1000000 (got 2000000)"},
      {"[imap]\nops_per_session = [5, 1]\n",
       "i.toml:3: imap.ops_per_session: must be [min, max] integers, 0 <= min <= max"},
      {"tls = false\n", "i.toml:1: imap: needs tls = true (the sessions use implicit TLS)"},
  };
  for (const auto& c : cases) {
    auto r = parse_scenario_toml(base + std::string(c.toml), "i.toml");
    EXPECT_EQ(r.ok() ? std::string("ok") : r.error().detail, c.error) << c.toml;
  }
  // [imap] in a scenario without TLS or logins.
  auto plain = parse_scenario_toml("[imap]\nsessions = 1\n", "p.toml");
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.error().detail.find("imap: needs tls = true"), std::string::npos) << plain.error().detail;
  auto no_logins = parse_scenario_toml("tls = true\n[imap]\nsessions = 1\n", "p.toml");
  ASSERT_FALSE(no_logins.ok());
  EXPECT_NE(no_logins.error().detail.find("imap: needs submission.logins"), std::string::npos)
      << no_logins.error().detail;
}

TEST(ImapWorkloadPlan, TheMixChoosesTheOperations) {
  ImapWorkloadConfig c;
  c.mix = ImapOpMix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  c.mix.noop = 3;
  c.mix.move = 1;
  c.ops_per_session = Range{20, 20};
  c.folders = {"Trash", "Junk"};
  Prng rng(7);
  ImapLedger ledger;
  const auto plans = plan_imap_sessions(rng, c, 10, 0, {HostId{1}}, {rt::Endpoint{"10.0.1.1", 25}}, false, ledger);
  std::map<ImapOp, int> ops;
  for (const auto& p : plans) {
    ASSERT_EQ(p.steps.size(), 21u);
    EXPECT_EQ(p.steps.front().op, ImapOp::select);  // every session starts with one
    for (std::size_t i = 1; i < p.steps.size(); ++i) {
      ++ops[p.steps[i].op];
      if (p.steps[i].op == ImapOp::move) {
        EXPECT_TRUE(p.steps[i].folder == "Trash" || p.steps[i].folder == "Junk");
      }
    }
  }
  EXPECT_EQ(ops.size(), 2u);  // noop and move only
  EXPECT_GT(ops[ImapOp::noop], ops[ImapOp::move]);
  EXPECT_GT(ops[ImapOp::move], 0);
  EXPECT_TRUE(ledger.appends().empty());
}

TEST(ImapWorkloadPlan, LivenessSessionsGoToEveryServerInTurn) {
  ImapWorkloadConfig c;
  Prng rng(3);
  ImapLedger ledger;
  const std::vector<rt::Endpoint> servers{{"10.0.1.1", 25}, {"10.0.1.2", 25}, {"10.0.1.3", 25}};
  const auto plans = plan_imap_sessions(rng, c, 6, 40, {HostId{4}, HostId{5}}, servers, true, ledger);
  ASSERT_EQ(plans.size(), 6u);
  for (std::size_t i = 0; i < plans.size(); ++i) {
    EXPECT_EQ(plans[i].server.address, servers[i % 3].address);
    EXPECT_EQ(plans[i].server.port, c.port);
    EXPECT_TRUE(plans[i].liveness);
  }
}

// Two server hosts, each its own store: sessions on both, each host's folders read in full
// by its own liveness session, index loss on either, and every IMAP and SMTP check clean.
TEST(ImapScenario, TwoServerHostsEachWithItsOwnStore) {
  auto sc = parse_scenario_toml(R"(
base = "imap-concurrent"
servers = 2
[workload]
sessions = 4
[phases]
faults = "2m"
[imap]
servers = 2
sessions = 8
folders = ["Drafts", "Archive", "Trash"]
index_loss_ppm = 1000000
[imap.mix]
append = 40
move = 20
fetch = 20
select = 20
expunge = 0
uid_expunge = 0
idle = 0
noop = 0
status = 0
store = 0
)",
                                "two.toml");
  ASSERT_TRUE(sc.ok()) << sc.error().detail;
  std::uint32_t index_losses = 0;
  for (std::uint64_t seed : {1, 2}) {
    ScenarioRun run(*sc, seed);
    while (run.advance(10'000)) {
    }
    const RunReport& rep = run.report();
    EXPECT_TRUE(rep.ok()) << violations(rep);
    index_losses += rep.index_losses;
    std::set<std::string> read, appended;
    for (const auto& f : run.imap_ledger().finals) read.insert(f.server + " " + f.folder);
    for (const auto& a : run.imap_ledger().appends()) {
      if (a.outcome == ImapAppend::Outcome::acked) appended.insert(a.server);
    }
    for (const char* server : {"10.0.1.1", "10.0.1.2"}) {
      for (const char* folder : {"INBOX", "Drafts", "Archive", "Trash"}) {
        EXPECT_TRUE(read.contains(std::string(server) + " " + folder))
            << "seed " << seed << ": " << server << " " << folder;
      }
      EXPECT_TRUE(appended.contains(server)) << "seed " << seed << ": no append acked on " << server;
    }
  }
  EXPECT_GT(index_losses, 0u);
}

}  // namespace
}  // namespace mail::sim
