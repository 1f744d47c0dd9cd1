// Checkers: they must fail when mail is lost, duplicated, invented, corrupted or delivered
// despite a refusal, and stay quiet otherwise.
#include "simulator/checker.h"

#include <gtest/gtest.h>

namespace mail::sim {
namespace {

std::string received() {
  return "Received: from c.clients.test (c.clients.test [10.0.2.1])\r\n\tby mx1 (Cloudsdial) with ESMTP id ABC\r\n\tfor "
         "<a@example.test>; Thu, 01 Jan 2026 00:00:00 +0000\r\n";
}

struct Fixture {
  Fixture() {
    server.directory.domains = {"example.test"};
    server.directory.users = {store::UserConfig{"alice", {}}, store::UserConfig{"bob", {}}};
    server.data_dir = "/d";
    for (const char* u : {"alice", "bob"}) {
      EXPECT_TRUE(disk.make_dirs(maildir_of(server, u) + "/new").ok());
      EXPECT_TRUE(disk.make_dirs(maildir_of(server, u) + "/cur").ok());
    }
  }
  LedgerEntry& message(LedgerEntry::Outcome outcome, std::vector<std::string> rcpts, std::vector<bool> accepted) {
    LedgerEntry& e = ledger.add();
    e.server = "10.0.1.1";
    e.content = "Subject: t\r\nX-Sim-Id: " + std::to_string(e.id) + "\r\n\r\nbody " + std::to_string(e.id) + "\r\n";
    e.recipients = std::move(rcpts);
    e.rcpt_accepted = std::move(accepted);
    e.outcome = outcome;
    e.reply = outcome == LedgerEntry::Outcome::acked ? "250 ok" : "451 no";
    return e;
  }
  void store(const std::string& user, const std::string& name, const std::string& content) {
    EXPECT_TRUE(disk.write(maildir_of(server, user) + "/new/" + name, content, rt::WriteMode::create_new).ok());
  }
  std::vector<Violation> check() {
    std::vector<Violation> v;
    check_mailboxes(ledger, server, "10.0.1.1", MailboxView{"mx1", &disk}, v);
    return v;
  }
  MailServerConfig server;
  DiskState disk;
  Ledger ledger;
};

std::string kinds(const std::vector<Violation>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : ",") + x.invariant;
  return out;
}

TEST(Checker, SplitReceivedHandlesFolding) {
  const std::string stored = received() + "Subject: x\r\n\r\nbody\r\n";
  auto [r, rest] = split_received(stored);
  EXPECT_EQ(r, received());
  EXPECT_EQ(rest, "Subject: x\r\n\r\nbody\r\n");
  auto [none, all] = split_received("Subject: x\r\n");
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(all, "Subject: x\r\n");
}

TEST(Checker, QuietWhenEverythingIsThere) {
  Fixture f;
  auto& m = f.message(LedgerEntry::Outcome::acked, {"alice@example.test", "bob+x@EXAMPLE.test"}, {true, true});
  f.store("alice", "1.a", received() + m.content);
  f.store("bob", "1.a", received() + m.content);
  auto& u = f.message(LedgerEntry::Outcome::unknown, {"alice@example.test"}, {});
  f.store("alice", "2.a", received() + u.content);  // an unknown outcome may be stored
  f.message(LedgerEntry::Outcome::refused, {"bob@example.test"}, {true});
  EXPECT_EQ(kinds(f.check()), "");
}

TEST(Checker, LostAfterAck) {
  Fixture f;
  auto& m = f.message(LedgerEntry::Outcome::acked, {"alice@example.test", "bob@example.test"}, {true, true});
  f.store("alice", "1.a", received() + m.content);
  const auto v = f.check();
  EXPECT_EQ(kinds(v), "lost-after-ack");
  EXPECT_NE(v[0].detail.find("bob"), std::string::npos);
}

TEST(Checker, RejectedRecipientIsNotExpected) {
  Fixture f;
  auto& m = f.message(LedgerEntry::Outcome::acked, {"alice@example.test", "bob@example.test"}, {true, false});
  f.store("alice", "1.a", received() + m.content);
  EXPECT_EQ(kinds(f.check()), "");
  f.store("bob", "1.a", received() + m.content);
  EXPECT_EQ(kinds(f.check()), "misdelivered");
}

TEST(Checker, Duplicate) {
  Fixture f;
  auto& m = f.message(LedgerEntry::Outcome::acked, {"alice@example.test"}, {true});
  f.store("alice", "1.a", received() + m.content);
  f.store("alice", "1.b", received() + m.content);
  EXPECT_EQ(kinds(f.check()), "duplicate");
}

TEST(Checker, PhantomCorruptAndRefused) {
  Fixture f;
  auto& m = f.message(LedgerEntry::Outcome::refused, {"alice@example.test"}, {true});
  f.store("alice", "1.a", received() + m.content);
  EXPECT_EQ(kinds(f.check()), "refused-but-delivered");
  Fixture g;
  g.store("alice", "x", received() + "Subject: hi\r\nX-Sim-Id: 99\r\n\r\n");
  EXPECT_EQ(kinds(g.check()), "phantom");
  Fixture h;
  auto& c = h.message(LedgerEntry::Outcome::acked, {"alice@example.test"}, {true});
  std::string bad = c.content;
  bad.back() = '!';
  h.store("alice", "1.a", received() + bad);
  EXPECT_EQ(kinds(h.check()), "corrupt,lost-after-ack");
  Fixture k;
  auto& n = k.message(LedgerEntry::Outcome::not_sent, {"alice@example.test"}, {});
  k.store("alice", "1.a", received() + n.content);
  EXPECT_EQ(kinds(k.check()), "phantom");
  Fixture l;
  auto& nr = l.message(LedgerEntry::Outcome::acked, {"alice@example.test"}, {true});
  l.store("alice", "1.a", nr.content);  // no Received: added
  EXPECT_EQ(kinds(l.check()), "corrupt,lost-after-ack");
}

TEST(Checker, DurableViewCatchesAnAckBeforeFsync) {
  Fixture f;
  ASSERT_TRUE(f.disk.sync_dir("/").ok());
  for (const auto& p : f.disk.walk()) {
    if (p.back() == '/') {
      ASSERT_TRUE(f.disk.sync_dir(p).ok());
    }
  }
  auto& m = f.message(LedgerEntry::Outcome::acked, {"alice@example.test"}, {true});
  f.store("alice", "1.a", received() + m.content);  // written, never synced
  EXPECT_EQ(kinds(f.check()), "");
  const DiskState durable = f.disk.durable_view();
  std::vector<Violation> v;
  check_mailboxes(f.ledger, f.server, "10.0.1.1", MailboxView{"mx1 after power loss", &durable}, v);
  EXPECT_EQ(kinds(v), "lost-after-ack");
}

TEST(Checker, SubmissionWithoutAuthIsNeverAckedNorStored) {
  Fixture f;
  // Ledger entries live in a vector: keep ids, not references, across add().
  auto entry = [&](LedgerEntry::Outcome o, const char* rcpt, bool accepted, SubmitAuth a, bool authenticated) {
    LedgerEntry& e = f.message(o, {rcpt}, {accepted});
    e.submit = a;
    e.authenticated = authenticated;
    return e.id;
  };
  // A good login, acked and stored; a wrong password refused (535) and nowhere: quiet.
  const auto good = entry(LedgerEntry::Outcome::acked, "alice@example.test", true, SubmitAuth::good, true);
  f.store("alice", "1", received() + f.ledger.at(good).content);
  const auto bad = entry(LedgerEntry::Outcome::refused, "bob@example.test", false, SubmitAuth::bad_password, false);
  std::vector<Violation> v = f.check();
  check_submission(f.ledger, v);
  EXPECT_EQ(kinds(v), "");

  // No AUTH, yet acked and stored; a wrong password that authenticated; a good login whose
  // AUTH failed (454, reset) but whose message is in a mailbox anyway.
  const auto no_auth = entry(LedgerEntry::Outcome::acked, "bob@example.test", true, SubmitAuth::no_auth, false);
  f.store("bob", "3", received() + f.ledger.at(no_auth).content);
  f.ledger.at(bad).authenticated = true;
  const auto failed = entry(LedgerEntry::Outcome::unknown, "alice@example.test", false, SubmitAuth::good, false);
  f.store("alice", "4", received() + f.ledger.at(failed).content);
  v = f.check();
  check_submission(f.ledger, v);
  EXPECT_EQ(kinds(v), "unauthenticated-delivered,unauthenticated-delivered,auth-bypass,unauthenticated-acked");
}

TEST(Checker, Liveness) {
  Ledger ledger;
  SessionStats stats;
  stats.started = 3;
  stats.finished = 2;
  auto& e = ledger.add();
  e.liveness = true;
  e.outcome = LedgerEntry::Outcome::unknown;
  std::vector<Violation> v;
  check_liveness(ledger, stats, v);
  EXPECT_EQ(kinds(v), "stuck-session,liveness");
  stats.client_buffered_max = 100;
  stats.server_buffered_max = 500;
  std::vector<Violation> m;
  check_memory(stats, 100, 500, m);
  EXPECT_TRUE(m.empty());
  check_memory(stats, 99, 500, m);
  EXPECT_EQ(kinds(m), "memory");
  m.clear();
  check_memory(stats, 100, 499, m);  // the server side is checked too
  EXPECT_EQ(kinds(m), "memory");
}

}  // namespace
}  // namespace mail::sim
