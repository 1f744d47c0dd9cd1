// Relay checker self-tests (relay_checker.h) on hand-made ledgers and disks: each relay
// invariant fires when broken and stays quiet when kept; duplicates are allowed exactly as
// far as a drop after the dot, a lost reply or a crash explains them; the retry schedule
// check (RFC 5321 §4.5.4.1) catches an attempt earlier than the RetryPolicy allows.
#include <gtest/gtest.h>

#include "relay_checker.h"
#include "store/maildir.h"

namespace mail::sim {
namespace {

using namespace std::chrono_literals;

struct RelayFixture {
  MailServerConfig a_cfg, b_cfg;
  DiskState a_disk, b_disk;
  Ledger ledger;
  RelayLog log;
  std::vector<DroppedAfterDot> drops;
  int files = 0;

  RelayFixture() {
    for (MailServerConfig* c : {&a_cfg, &b_cfg}) {
      c->data_dir = "/d";
      c->directory.users = {store::UserConfig{"alice", {}}, store::UserConfig{"bob", {}}};
    }
    a_cfg.directory.domains = {"a.test"};
    b_cfg.directory.domains = {"b.test"};
  }
  std::vector<RelayMta> mtas() {
    return {RelayMta{0, "a.test", "mx1", "10.0.1.1", &a_cfg, &a_disk, "mx1 live"},
            RelayMta{1, "b.test", "mx2", "10.0.1.2", &b_cfg, &b_disk, "mx2 live"}};
  }
  // alice@a.test sends to `rcpts` through mx1 (acked as queue id Q1).
  LedgerEntry& acked(std::vector<std::string> rcpts) {
    LedgerEntry& e = ledger.add();
    e.server = "10.0.1.1";
    e.mail_from = "alice@a.test";
    e.mail_from_set = true;
    e.recipients = std::move(rcpts);
    e.rcpt_accepted.assign(e.recipients.size(), true);
    e.content = "Subject: x\r\nX-Sim-Id: " + std::to_string(e.id) + "\r\n\r\nbody\r\n";
    e.outcome = LedgerEntry::Outcome::acked;
    e.reply = "250 2.0.0 Ok: queued as Q" + std::to_string(e.id);
    return e;
  }
  void store(DiskState& disk, const std::string& user, const std::string& text) {
    const std::string dir = store::maildir_folder_path("/d", user, store::MaildirFolder::new_mail);
    ASSERT_TRUE(disk.make_dirs(dir).ok());
    ASSERT_TRUE(disk.write(dir + "/" + std::to_string(++files), text, rt::WriteMode::create_new).ok());
  }
  void deliver(DiskState& disk, const std::string& user, const LedgerEntry& e) {
    store(disk, user, "Return-Path: <" + e.mail_from + ">\r\nReceived: from mx1 by mx2\r\nReceived: from c by mx1\r\n" + e.content);
  }
  void bounce(const std::string& rcpt, const LedgerEntry& e, const std::string& return_path = "<>") {
    store(a_disk, "alice",
          "Return-Path: " + return_path + "\r\nReceived: by mx1\r\nContent-Type: multipart/report; report-type=delivery-status\r\n\r\n"
          "--b\r\n\r\nFinal-Recipient: rfc822; " + rcpt + "\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b\r\n\r\n" + e.content);
  }
  std::vector<Violation> check(RelayTotals* totals_out = nullptr) {
    std::vector<Violation> out;
    RelayTotals totals;
    check_relay(ledger, mtas(), log, drops, out, totals);
    if (totals_out != nullptr) *totals_out = totals;
    return out;
  }
};

bool has(const std::vector<Violation>& v, std::string_view invariant) {
  for (const auto& x : v) {
    if (x.invariant == invariant) return true;
  }
  return false;
}

TEST(RelayChecker, QuietWhenDeliveredOrBouncedOnce) {
  RelayFixture f;
  const LedgerEntry& e = f.acked({"bob@b.test", "nobody1@b.test", "bob@a.test"});
  f.deliver(f.b_disk, "bob", e);
  f.deliver(f.a_disk, "bob", e);
  f.bounce("nobody1@b.test", e);
  RelayTotals t;
  const auto v = f.check(&t);
  EXPECT_TRUE(v.empty()) << v.front().invariant << ": " << v.front().detail;
  EXPECT_EQ(t.delivered, 2u);
  EXPECT_EQ(t.bounced, 1u);
  EXPECT_EQ(t.dsns, 1u);
}

TEST(RelayChecker, AckedButNeitherDeliveredNorBouncedIsLost) {
  RelayFixture f;
  const LedgerEntry& e = f.acked({"bob@b.test", "alice@b.test"});
  f.deliver(f.b_disk, "bob", e);
  EXPECT_TRUE(has(f.check(), "lost-after-ack"));
}

TEST(RelayChecker, UnexplainedSecondCopyIsADuplicate) {
  RelayFixture f;
  const LedgerEntry& e = f.acked({"bob@b.test"});
  f.deliver(f.b_disk, "bob", e);
  f.deliver(f.b_disk, "bob", e);
  EXPECT_TRUE(has(f.check(), "duplicate"));
}

TEST(RelayChecker, DeliveredAndBouncedIsADuplicateToo) {
  RelayFixture f;
  const LedgerEntry& e = f.acked({"bob@b.test"});
  f.deliver(f.b_disk, "bob", e);
  f.bounce("bob@b.test", e);
  EXPECT_TRUE(has(f.check(), "duplicate"));
}

TEST(RelayChecker, DropAfterDotExplainsOneCopy) {
  RelayFixture f;
  const LedgerEntry& e = f.acked({"bob@b.test"});
  f.deliver(f.b_disk, "bob", e);
  f.deliver(f.b_disk, "bob", e);
  // RFC 1047: mx2 stored it and closed before its 250 reached mx1.
  f.drops.push_back(DroppedAfterDot{Instant{}, "mx2", "10.0.1.1", "R1", std::to_string(e.id), ""});
  RelayTotals t;
  EXPECT_TRUE(f.check(&t).empty());
  EXPECT_EQ(t.dup_dropped, 1u);
  // A drop elsewhere (another host, or a client's submission) explains nothing here.
  f.drops.back().client = "10.0.2.1";
  EXPECT_TRUE(has(f.check(), "duplicate"));
  // One drop explains one copy, not two.
  f.drops.back().client = "10.0.1.1";
  f.deliver(f.b_disk, "bob", e);
  EXPECT_TRUE(has(f.check(), "duplicate"));
}

TEST(RelayChecker, LostReplyAndCrashExplainCopies) {
  RelayFixture f;
  LedgerEntry& e = f.acked({"bob@b.test"});
  e.decided_at = Instant{} + 10s;
  f.deliver(f.b_disk, "bob", e);
  f.deliver(f.b_disk, "bob", e);
  f.deliver(f.b_disk, "bob", e);
  f.log.observe(0, Instant{} + 20s, "log.info",
                "Q1: to=<bob@b.test>, relay=mx2.b.test, status=deferred (451 4.4.2 connection closed by server (state data_end))");
  EXPECT_TRUE(has(f.check(), "duplicate"));  // two extra copies, one explanation
  f.log.crashed(1, Instant{} + 5s);          // before the ack: explains nothing
  EXPECT_TRUE(has(f.check(), "duplicate"));
  f.log.crashed(0, Instant{} + 30s);         // the sending MTA, after the ack
  RelayTotals t;
  EXPECT_TRUE(f.check(&t).empty());
  EXPECT_EQ(t.dup_lost_reply, 1u);
  EXPECT_EQ(t.dup_crash, 1u);
}

TEST(RelayChecker, RefusedRecipientUnknownUserAndPhantoms) {
  RelayFixture f;
  LedgerEntry& e = f.acked({"bob@b.test", "alice@b.test"});
  e.rcpt_accepted = {true, false};
  f.deliver(f.b_disk, "bob", e);
  f.deliver(f.b_disk, "alice", e);  // refused at RCPT, yet it arrived
  EXPECT_TRUE(has(f.check(), "phantom"));
  RelayFixture g;
  const LedgerEntry& n = g.acked({"nobody2@b.test"});
  g.deliver(g.b_disk, "bob", n);  // an unknown user's mail in bob's mailbox is not a bounce
  EXPECT_TRUE(has(g.check(), "lost-after-ack"));
  g.store(g.b_disk, "bob", "Received: x\r\nX-Sim-Id: 99\r\n\r\n");
  EXPECT_TRUE(has(g.check(), "phantom"));
}

TEST(RelayChecker, DsnMustComeFromTheNullSenderToTheSender) {
  RelayFixture f;
  const LedgerEntry& e = f.acked({"nobody1@b.test"});
  f.bounce("nobody1@b.test", e, "<mailer-daemon@a.test>");
  EXPECT_TRUE(has(f.check(), "dsn-sender"));
}

TEST(RelayChecker, HopCountIsBounded) {
  RelayFixture f;
  const LedgerEntry& e = f.acked({"bob@b.test"});
  std::string looped = "Return-Path: <alice@a.test>\r\n";
  for (std::size_t i = 0; i < kRelayHopsMax + 1; ++i) looped += "Received: from mx" + std::to_string(i % 2 + 1) + "\r\n";
  f.store(f.b_disk, "bob", looped + e.content);
  EXPECT_TRUE(has(f.check(), "mail-loop"));
}

TEST(RelayLog, RetryEarlierThanTheScheduleIsCaught) {
  // RetryPolicy: first 1 min, doubling, max 10 min.
  RelayLog log;
  log.set_policy(0, smtp::RetryPolicy{1min, 2, 10min, 2h, Duration(0)});
  const std::string deferred = "Q1: to=<bob@b.test>, relay=mx2.b.test, status=deferred (450 4.7.1 Greylisted)";
  log.observe(0, Instant{} + 0s, "log.info", deferred);
  log.observe(0, Instant{} + 61s, "log.info", deferred);   // 1 min after the first: fine
  EXPECT_TRUE(log.violations().empty());
  log.observe(0, Instant{} + 150s, "log.info", deferred);  // 89 s after the second: < 2 min
  ASSERT_EQ(log.violations().size(), 1u);
  EXPECT_EQ(log.violations()[0].invariant, "retry-early");
  EXPECT_EQ(log.retries_checked(), 2u);
  // A crash of the MTA resets what it knows: its reloaded queue may retry at once.
  log.crashed(0, Instant{} + 151s);
  log.observe(0, Instant{} + 152s, "log.info", "Q1: to=<bob@b.test>, relay=mx2.b.test, status=sent (250 ok)");
  EXPECT_EQ(log.violations().size(), 1u);
}

TEST(RelayLog, TheLastRetryComesAtTheLifetimesEnd) {
  // RFC 5321 §4.5.4.1 as retry_schedule.h implements it: a retry that would fall after
  // arrival + lifetime is made at it. Arrival at 0, lifetime 2 h, backoff capped at 10 min.
  RelayLog log;
  log.set_policy(0, smtp::RetryPolicy{1min, 2, 10min, 2h, Duration(0)});
  const std::string deferred = "Q1: to=<bob@b.test>, relay=mx2.b.test, status=deferred (450 4.7.1 Greylisted)";
  for (int i = 0; i < 5; ++i) log.observe(0, Instant{} + Duration(std::chrono::minutes(i * 20)), "log.info", deferred);
  log.observe(0, Instant{} + 115min, "log.info", deferred);  // 15 min after the 5th at 80 min
  EXPECT_TRUE(log.violations().empty());
  // 5 min later is the lifetime's end: early for the backoff, and caught without the arrival...
  log.observe(0, Instant{} + 120min, "log.info", "Q1: to=<bob@b.test>, status=expired (554 5.4.7 ...)");
  ASSERT_EQ(log.violations().size(), 1u);
  // ...but on schedule once the watcher knows when the message arrived.
  RelayLog known;
  known.set_policy(0, smtp::RetryPolicy{1min, 2, 10min, 2h, Duration(0)});
  known.set_arrival_lookup([](HostId, const std::string&) { return std::optional<Instant>(Instant{}); });
  known.observe(0, Instant{} + 115min, "log.info", deferred);
  known.observe(0, Instant{} + 120min, "log.info", "Q1: to=<bob@b.test>, status=expired (554 5.4.7 ...)");
  EXPECT_TRUE(known.violations().empty());
  // Well before the lifetime's end the backoff alone counts.
  const std::string q2 = "Q2: to=<bob@b.test>, relay=mx2.b.test, status=deferred (450 4.7.1 Greylisted)";
  known.observe(0, Instant{} + 10min, "log.info", q2);
  known.observe(0, Instant{} + 10min + 30s, "log.info", q2);
  EXPECT_EQ(known.violations().size(), 1u);
}

TEST(RelayLog, ADsnAboutADsnIsCaught) {
  RelayLog log;
  log.observe(0, Instant{}, "log.info", "Q1: sender delivery status notification: Q1-B");
  EXPECT_TRUE(log.violations().empty());
  log.observe(0, Instant{}, "log.info", "Q1-B: sender delivery status notification: Q1-B-B");
  ASSERT_EQ(log.violations().size(), 1u);
  EXPECT_EQ(log.violations()[0].invariant, "dsn-of-dsn");
}

}  // namespace
}  // namespace mail::sim
