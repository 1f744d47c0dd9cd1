// IMAP checks: each rule fires on a hand-made ledger that breaks it, and stays quiet for
// the same observations in a causally unordered (concurrent) arrangement.
#include "simulator/imap_checker.h"

#include <gtest/gtest.h>

#include "store/index/folder_layout.h"

namespace mail::sim {
namespace {

UidObservation uid_obs(UidObservation::Source src, std::uint32_t uv, std::uint32_t uid, std::string sim_id,
                       std::uint64_t hash, std::uint64_t sent, std::uint64_t received) {
  UidObservation o;
  o.source = src;
  o.server = "10.0.1.1";
  o.folder = "Drafts";
  o.uidvalidity = uv;
  o.uid = uid;
  o.sim_id = std::move(sim_id);
  o.content_hash = hash;
  o.sent = sent;
  o.received = received;
  return o;
}

CounterObservation counter(CounterObservation::Kind kind, std::uint32_t uv, std::uint64_t value, std::uint64_t sent,
                           std::uint64_t received) {
  CounterObservation c;
  c.kind = kind;
  c.server = "10.0.1.1";
  c.folder = "Drafts";
  c.uidvalidity = uv;
  c.value = value;
  c.sent = sent;
  c.received = received;
  return c;
}

std::vector<std::string> invariants(const ImapLedger& l) {
  std::vector<Violation> v;
  std::vector<std::string> notes;
  ImapTotals t;
  Ledger smtp;
  check_imap_protocol(l, smtp, v, notes, t);
  std::vector<std::string> out;
  for (const auto& x : v) out.push_back(x.invariant);
  return out;
}

using S = UidObservation::Source;
using K = CounterObservation::Kind;

// RFC 9051 §2.3.1.1: a UID names one message for the life of the UIDVALIDITY.
TEST(ImapChecker, UidHoldingTwoMessagesIsReused) {
  ImapLedger l;
  l.uids.push_back(uid_obs(S::appenduid, 7, 3, "a1", 11, 1, 2));
  l.uids.push_back(uid_obs(S::fetch, 7, 3, "", 22, 3, 4));  // another message
  EXPECT_EQ(invariants(l), std::vector<std::string>{"uid-reused"});
  l.uids.back().uidvalidity = 8;  // another UIDVALIDITY (after an index loss): no rule across it
  l.index_losses.emplace_back("10.0.1.1", 2);
  EXPECT_TRUE(invariants(l).empty());
}

// RFC 9051 §2.3.1.1: UIDs are assigned strictly ascending.
TEST(ImapChecker, AssignedUidNotAboveAKnownOneIsCaughtOnlyWhenCausallyAfter) {
  ImapLedger l;
  l.uids.push_back(uid_obs(S::appenduid, 7, 5, "a1", 11, 1, 2));
  l.uids.push_back(uid_obs(S::appenduid, 7, 4, "a2", 22, 3, 4));  // sent after 5 was received
  EXPECT_EQ(invariants(l), std::vector<std::string>{"uid-not-ascending"});
  l.uids.back().sent = 1;  // concurrent: the other answer had not arrived yet
  l.uids.front().received = 5;
  EXPECT_TRUE(invariants(l).empty());
}

// RFC 9051 §7.1 UIDNEXT, RFC 7162 §3.1.2.1 HIGHESTMODSEQ: never down.
TEST(ImapChecker, UidnextAndHighestModseqNeverDecrease) {
  ImapLedger l;
  l.counters.push_back(counter(K::uidnext, 7, 9, 1, 2));
  l.counters.push_back(counter(K::uidnext, 7, 8, 3, 4));
  l.counters.push_back(counter(K::highestmodseq, 7, 20, 1, 2));
  l.counters.push_back(counter(K::highestmodseq, 7, 19, 3, 4));
  EXPECT_EQ(invariants(l), (std::vector<std::string>{"uidnext-decreased", "modseq-decreased"}));
  ImapLedger m;
  m.uids.push_back(uid_obs(S::appenduid, 7, 9, "a1", 11, 1, 2));
  m.counters.push_back(counter(K::uidnext, 7, 9, 3, 4));  // must be above 9
  EXPECT_EQ(invariants(m), std::vector<std::string>{"uidnext-decreased"});
}

TEST(ImapChecker, UidvalidityChangeNeedsAnIndexLossInBetween) {
  ImapLedger l;
  l.counters.push_back(counter(K::uidnext, 7, 9, 1, 2));
  l.counters.push_back(counter(K::uidnext, 8, 1, 5, 6));
  EXPECT_EQ(invariants(l), std::vector<std::string>{"uidvalidity-changed"});
  l.index_losses.emplace_back("10.0.1.1", 3);
  EXPECT_TRUE(invariants(l).empty());
  l.counters.push_back(counter(K::uidnext, 6, 1, 7, 8));  // down (from 7 and from 8), whatever happened
  EXPECT_EQ(invariants(l), (std::vector<std::string>{"uidvalidity-decreased", "uidvalidity-decreased"}));
}

struct Disk {
  Disk() {
    server.data_dir = "/d";
    for (const char* sub : {"/new", "/cur"}) EXPECT_TRUE(disk.make_dirs(folder() + sub).ok());
  }
  std::string folder() const { return maildir_of(server, "alice") + "/" + store::index::folder_dir("Drafts"); }
  std::vector<std::string> check(const ImapLedger& l) {
    std::vector<Violation> v;
    check_imap_mailbox(l, server, "10.0.1.1", "alice", {"Drafts"}, MailboxView{"mx1", &disk}, v);
    std::vector<std::string> out;
    for (const auto& x : v) out.push_back(x.invariant);
    return out;
  }
  MailServerConfig server;
  DiskState disk;
};

ImapAppend& acked(ImapLedger& l) {
  ImapAppend& a = l.add_append();
  a.server = "10.0.1.1";
  a.folder = a.at_folder = "Drafts";
  a.content = "X-Sim-Id: a" + std::to_string(a.id) + "\r\n\r\nbody\r\n";
  a.outcome = ImapAppend::Outcome::acked;
  a.uidvalidity = 7;
  a.uid = static_cast<std::uint32_t>(a.id);
  return a;
}

TEST(ImapChecker, AcknowledgedAppendMustBeOnDiskUnlessExpunged) {
  Disk d;
  ImapLedger l;
  ImapAppend& a = acked(l);
  EXPECT_EQ(d.check(l), std::vector<std::string>{"lost-after-ack"});
  l.append(a.id).removal_requested = true;
  EXPECT_TRUE(d.check(l).empty());
  l.append(a.id).removal_requested = false;
  ASSERT_TRUE(d.disk.write(d.folder() + "/cur/1.x", l.append(a.id).content, rt::WriteMode::create_new).ok());
  EXPECT_TRUE(d.check(l).empty());
  ASSERT_TRUE(d.disk.write(d.folder() + "/new/2.x", l.append(a.id).content, rt::WriteMode::create_new).ok());
  EXPECT_EQ(d.check(l), std::vector<std::string>{"duplicate"});
  ASSERT_TRUE(d.disk.write(d.folder() + "/new/2.x", "X-Sim-Id: a1\r\n\r\nbodz\r\n", rt::WriteMode::truncate).ok());
  EXPECT_EQ(d.check(l), std::vector<std::string>{"corrupt"});
}

TEST(ImapChecker, FinalReadMustShowEveryAppendAckedBeforeIt) {
  ImapLedger l;
  ImapAppend& a = acked(l);
  a.located = 5;
  FinalView f;
  f.server = "10.0.1.1";
  f.folder = "Drafts";
  f.sent = 9;
  l.finals.push_back(f);
  std::vector<Violation> v;
  check_imap_final(l, v);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].invariant, "lost-after-ack");
  l.finals[0].sim_ids["a1"] = 1;
  v.clear();
  check_imap_final(l, v);
  EXPECT_TRUE(v.empty());
  l.finals[0].sim_ids.clear();
  l.finals[0].sent = 4;  // read before the APPENDUID arrived: nothing required
  check_imap_final(l, v);
  EXPECT_TRUE(v.empty());
}

}  // namespace
}  // namespace mail::sim
