// POP3 in the simulator (issue 15): the sans-IO POP3 client (status lines, multi-line
// responses with the byte-stuffing undone, RFC 1939 §3, in any chunking), which commands the
// scripted session reads as multi-line (pop3_script.h), the oracles of pop3_checker.h on
// hand-made ledgers (each must fire on its planted bug and stay quiet on the good twin), the
// [pop3] table of scenario files, and one pop3-basic seed end to end.
#include <gtest/gtest.h>

#include "simulator/pop3_checker.h"
#include "simulator/pop3_client.h"
#include "simulator/pop3_script.h"
#include "simulator/scenario.h"

namespace mail::sim {
namespace {

std::vector<Pop3Response> feed_in_pieces(Pop3Client& c, std::string_view wire, std::size_t piece) {
  std::vector<Pop3Response> out;
  for (std::size_t i = 0; i < wire.size(); i += piece) {
    c.feed(wire.substr(i, piece));
    while (auto r = c.poll()) out.push_back(std::move(*r));
  }
  EXPECT_TRUE(c.error().empty()) << c.error();
  return out;
}

// RFC 1939 §5/§7, RFC 2449 §5: which "+OK" answers the scripted session (pop3_script.h)
// reads as multi-line.
TEST(Pop3Script, MultiLineCommandsRfc1939Sections5And7) {
  for (const char* line : {"CAPA", "RETR 1", "retr 2", "TOP 1 0", "LIST", "UIDL", "list  "}) {
    EXPECT_TRUE(pop3_multiline(line)) << line;
  }
  for (const char* line : {"LIST 1", "uidl 3", "STAT", "DELE 1", "NOOP", "RSET", "RETRX", "LISTS", ""}) {
    EXPECT_FALSE(pop3_multiline(line)) << line;
  }
}

TEST(Pop3Client, UnstuffsMultiLineResponsesWhateverTheChunkingRfc1939Section3) {
  const std::string wire =
      "+OK ready\r\n"
      "+OK 2 messages\r\n"
      "1 120\r\n2 7\r\n.\r\n"
      "-ERR no such message\r\n"
      "+OK 9 octets\r\n"
      "..dot\r\n...\r\nx\r\n.\r\n"
      "+OK\r\n"
      ".\r\n";
  for (std::size_t piece : {std::size_t{1}, std::size_t{2}, std::size_t{5}, wire.size()}) {
    Pop3Client c;
    EXPECT_EQ(c.command("LIST", true), "LIST\r\n");
    (void)c.command("RETR 9", true);  // -ERR: no body follows
    (void)c.command("RETR 1", true);
    (void)c.command("UIDL", true);  // +OK with an empty listing
    auto rs = feed_in_pieces(c, wire, piece);
    ASSERT_EQ(rs.size(), 5u) << piece;
    EXPECT_TRUE(rs[0].ok);
    EXPECT_EQ(rs[0].text, "ready");
    EXPECT_FALSE(rs[0].multiline);
    EXPECT_EQ(rs[1].body, "1 120\r\n2 7\r\n");
    EXPECT_FALSE(rs[2].ok);
    EXPECT_EQ(rs[2].text, "no such message");
    EXPECT_EQ(rs[3].body, ".dot\r\n..\r\nx\r\n");
    EXPECT_EQ(rs[3].body.size(), 13u);
    EXPECT_TRUE(rs[4].multiline);
    EXPECT_EQ(rs[4].body, "");
    EXPECT_EQ(c.pending(), 0u);
  }
}

TEST(Pop3Client, AStrayLineIsAnError) {
  Pop3Client c;
  c.feed("* OK imap?\r\n");
  EXPECT_FALSE(c.poll().has_value());
  EXPECT_NE(c.error(), "");
  Pop3Client d;
  d.feed("+OK hi\r\n+OK unasked\r\n");
  EXPECT_TRUE(d.poll().has_value());
  EXPECT_FALSE(d.poll().has_value());
  EXPECT_NE(d.error(), "");
}

TEST(Pop3Client, ParsesListings) {
  auto l = parse_pop3_listing("1 00000001000000a1\r\n2 x\r\n");
  ASSERT_TRUE(l.has_value());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[1].msg, 2u);
  EXPECT_EQ((*l)[0].value, "00000001000000a1");
  EXPECT_FALSE(parse_pop3_listing("1\r\n").has_value());
  EXPECT_FALSE(parse_pop3_listing("x y\r\n").has_value());
}

// ------------------------------------------------------------------ oracles, hand-made ledgers

using End = Pop3SessionRecord::End;

Pop3SessionRecord session(std::uint32_t index, End end, std::uint64_t login, std::uint64_t ended,
                          std::vector<std::string> listed, std::map<std::string, std::string> marked,
                          bool liveness = false) {
  Pop3SessionRecord s;
  s.index = index;
  s.server = "10.0.1.1";
  s.end = end;
  s.liveness = liveness;
  s.login_sent = login;
  s.login_received = login + 1;
  s.ended = ended;
  for (auto& u : listed) s.snapshot.emplace_back(u, 100);
  s.marked = std::move(marked);
  return s;
}

std::vector<std::string> invariants(const Pop3Ledger& l) {
  std::vector<Violation> v;
  Pop3Totals t;
  check_pop3(l, Ledger{}, v, t);
  std::vector<std::string> out;
  for (const auto& x : v) out.push_back(x.invariant);
  return out;
}

const std::map<std::string, std::string> kFourMarked{{"u1", "1"}, {"u2", "2"}, {"u3", "3"}, {"u4", "4"}};

// The planted bug: a crash during UPDATE left half of the marked messages deleted.
TEST(Pop3Checker, HalfADeletedMaildropAfterACrashDuringUpdateFiresRfc1939Section6) {
  Pop3Ledger l;
  l.sessions.push_back(session(1, End::update_unknown, 1, 10, {"u1", "u2", "u3", "u4", "u5"}, kFourMarked));
  l.sessions.push_back(session(2, End::committed, 20, 30, {"u1", "u2", "u5"}, {}, true));
  EXPECT_EQ(invariants(l), std::vector<std::string>{"half-update"});
  // All gone, or none gone: both fine.
  l.sessions[1].snapshot = {{"u5", 100}};
  EXPECT_TRUE(invariants(l).empty());
  l.sessions[1].snapshot = {{"u1", 1}, {"u2", 1}, {"u3", 1}, {"u4", 1}, {"u5", 1}};
  EXPECT_TRUE(invariants(l).empty());
}

TEST(Pop3Checker, ACommittedDeletionListedLaterFires) {
  Pop3Ledger l;
  l.sessions.push_back(session(1, End::committed, 1, 10, {"u1", "u2", "u3", "u4"}, kFourMarked));
  l.sessions.push_back(session(2, End::committed, 20, 30, {"u3"}, {}, true));
  EXPECT_EQ(invariants(l), std::vector<std::string>{"deleted-resurrected"});
  // A session that logged in before the +OK may still list it.
  l.sessions[1].login_sent = 9;
  EXPECT_TRUE(invariants(l).empty());
}

TEST(Pop3Checker, ADeletionWithoutQuitFires) {
  Pop3Ledger l;
  l.sessions.push_back(session(1, End::aborted, 1, 10, {"u1", "u2"}, {{"u1", "1"}}));
  l.sessions.push_back(session(2, End::committed, 20, 30, {"u2"}, {}, true));
  EXPECT_EQ(invariants(l), std::vector<std::string>{"deleted-without-quit"});
  l.sessions[1].snapshot.emplace_back("u1", 100);
  EXPECT_TRUE(invariants(l).empty());
}

TEST(Pop3Checker, TwoSessionsInsideOneLockFireRfc1939Section8) {
  Pop3Ledger l;
  Pop3SessionRecord a = session(1, End::committed, 1, 20, {"u1"}, {});
  a.quit_sent = 15;
  Pop3SessionRecord b = session(2, End::committed, 5, 30, {"u1"}, {});
  b.quit_sent = 25;
  l.sessions = {a, b};
  EXPECT_EQ(invariants(l), std::vector<std::string>{"lock-not-exclusive"});
  l.sessions[1].end = End::in_use;  // the loser of the race is told [IN-USE]: fine
  EXPECT_TRUE(invariants(l).empty());
  l.sessions[1].end = End::committed;
  l.sessions[1].login_sent = 16;  // after A's QUIT went out: the lock may be gone
  l.sessions[1].login_received = 17;
  EXPECT_TRUE(invariants(l).empty());
}

TEST(Pop3Checker, UidlAndSizeRulesRfc1939Section7) {
  Pop3Ledger l;
  Pop3Retr a;
  a.server = "10.0.1.1";
  a.uidl = "u1";
  a.sim_id = "1";
  a.content = "Received: x\r\nX-Sim-Id: 1\r\n\r\nhi\r\n";
  a.listed = a.content.size();
  Ledger smtp;
  LedgerEntry& e = smtp.add();
  e.content = "X-Sim-Id: 1\r\n\r\nhi\r\n";
  l.retrs.push_back(a);
  std::vector<Violation> v;
  Pop3Totals t;
  check_pop3(l, smtp, v, t);
  EXPECT_TRUE(v.empty());
  Pop3Retr b = a;  // the same message under another UIDL, and one octet short in LIST
  b.uidl = "u9";
  b.listed -= 1;
  l.retrs.push_back(b);
  check_pop3(l, smtp, v, t);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].invariant, "size-mismatch");
  EXPECT_EQ(v[1].invariant, "uidl-changed");
}

// ------------------------------------------------------------------ scenario files and a run

TEST(Pop3ScenarioToml, ParsesEveryPop3Key) {
  auto r = parse_scenario_toml(R"(
base = "pop3-basic"
[pop3]
user = "alice"
sessions = 5
session_start = ["1s", "2m"]
retrs_per_session = [1, 2]
deletes_per_session = [3, 4]
rset_ppm = 11
auth_plain_ppm = 12
abrupt_disconnect_ppm = 13
think = ["2s", "3s"]
liveness_sessions = 2
command_timeout = "45s"
update_crash_ppm = 14
update_crash_at_sync_ppm = 15
update_crash_delay = ["1ms", "9ms"]
)",
                               "pop3.toml");
  ASSERT_TRUE(r.ok()) << r.error().detail;
  ASSERT_TRUE(r->pop3.has_value());
  const Pop3WorkloadConfig& w = r->pop3->workload;
  EXPECT_EQ(w.sessions, 5u);
  EXPECT_EQ(w.session_start.max, 2min);
  EXPECT_EQ(w.retrs_per_session.max, 2u);
  EXPECT_EQ(w.deletes_per_session.min, 3u);
  EXPECT_EQ(w.rset_ppm, 11u);
  EXPECT_EQ(w.auth_plain_ppm, 12u);
  EXPECT_EQ(w.abrupt_disconnect_ppm, 13u);
  EXPECT_EQ(w.think.max, 3s);
  EXPECT_EQ(w.liveness_sessions, 2u);
  EXPECT_EQ(w.command_timeout, 45s);
  EXPECT_EQ(r->pop3->update_crash_ppm, 14u);
  EXPECT_EQ(r->pop3->update_crash_at_sync_ppm, 15u);
  EXPECT_EQ(r->pop3->update_crash_delay.max, 9ms);
  auto bad = parse_scenario_toml("base = \"pop3-basic\"\n[pop3]\nsesions = 3\n", "p.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().detail.find("pop3.sesions"), std::string::npos) << bad.error().detail;
  auto no_tls = parse_scenario_toml("[pop3]\nsessions = 3\n", "p.toml");
  ASSERT_FALSE(no_tls.ok());
  EXPECT_NE(no_tls.error().detail.find("tls = true"), std::string::npos) << no_tls.error().detail;
}

std::string violations(const RunReport& r) {
  std::string out;
  for (const auto& v : r.violations) out += v.invariant + ": " + v.detail + "\n";
  return out + r.trace_tail;
}

TEST(Pop3Scenario, OneSeedEndToEnd) {
  auto s = builtin_scenario("pop3-basic");
  ASSERT_TRUE(s.has_value());
  const RunReport r = run_scenario(*s, 1);
  EXPECT_TRUE(r.ok()) << violations(r);
  EXPECT_TRUE(r.pop3);
  EXPECT_GT(r.pop3_committed, 0u);
  EXPECT_GT(r.pop3_retrs, 0u);
}

}  // namespace
}  // namespace mail::sim
