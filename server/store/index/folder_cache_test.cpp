// FolderCache (pure): counters, snapshot, changes_since with adds, flag changes and
// expunges (RFC 7162 §3.1, §3.2.5), the horizon (Errc::expired), file moves.
#include "store/index/folder_cache.h"

#include <gtest/gtest.h>

namespace mail::store::index {
namespace {

CachedMessage msg(std::uint32_t uid, std::uint64_t modseq, std::uint8_t flags = 0, std::uint64_t size = 10) {
  CachedMessage m;
  m.info.uid = uid;
  m.info.modseq = modseq;
  m.info.flags.system = flags;
  m.info.size = size;
  m.info.content_id = "c" + std::to_string(uid);
  m.created_modseq = modseq;
  m.file = "new/m" + std::to_string(uid);
  return m;
}

FolderCache three() {
  FolderCounters c{.uidvalidity = 7, .uidnext = 4, .highestmodseq = 3, .horizon_modseq = 0};
  return FolderCache(c, {msg(1, 1, flag_seen), msg(2, 2), msg(3, 3, flag_deleted)}, {});
}

TEST(FolderCache, StatusCountsMessagesUnseenDeletedAndSize) {
  const FolderCache f = three();
  const FolderStatus s = f.status();
  EXPECT_EQ(s.uidvalidity, 7u);
  EXPECT_EQ(s.uidnext, 4u);
  EXPECT_EQ(s.highestmodseq, 3u);
  EXPECT_EQ(s.messages, 3u);
  EXPECT_EQ(s.unseen, 2u);
  EXPECT_EQ(s.deleted, 1u);
  EXPECT_EQ(s.size, 30u);
  EXPECT_EQ(f.snapshot().messages.size(), 3u);
  EXPECT_EQ(f.snapshot().messages[1].uid, 2u);
}

TEST(FolderCache, Rfc7162ChangesSinceReportsAddsFlagsAndExpungesInModseqOrder) {
  FolderCache f = three();
  f.add(msg(4, 4), 5);
  Flags seen;
  seen.system = flag_seen;
  ASSERT_TRUE(f.set_flags(2, seen, 5));
  ASSERT_TRUE(f.expunge(3, 6));
  auto ch = f.changes_since(3);
  ASSERT_TRUE(ch.ok());
  ASSERT_EQ(ch->changes.size(), 3u);
  EXPECT_EQ(ch->changes[0].kind, FolderChange::Kind::added);
  EXPECT_EQ(ch->changes[0].info.uid, 4u);
  EXPECT_EQ(ch->changes[1].kind, FolderChange::Kind::flags);
  EXPECT_EQ(ch->changes[1].info.uid, 2u);
  EXPECT_EQ(ch->changes[1].info.flags.system, flag_seen);
  EXPECT_EQ(ch->changes[2].kind, FolderChange::Kind::expunged);
  EXPECT_EQ(ch->changes[2].info.uid, 3u);
  EXPECT_EQ(ch->changes[2].info.modseq, 6u);
  EXPECT_EQ(ch->status.highestmodseq, 6u);
  EXPECT_EQ(ch->status.messages, 3u);
  EXPECT_EQ(ch->status.unseen, 1u);   // uid 4 only
  EXPECT_EQ(ch->status.deleted, 0u);  // uid 3 went
  // A message added and then changed after `since` is still "added", once.
  auto from1 = f.changes_since(1);
  ASSERT_TRUE(from1.ok());
  ASSERT_EQ(from1->changes.size(), 3u);
  EXPECT_EQ(from1->changes[0].kind, FolderChange::Kind::added);  // uid 4 at 4
  EXPECT_EQ(from1->changes[1].info.uid, 2u);                      // created at 2 > 1
  EXPECT_EQ(from1->changes[1].kind, FolderChange::Kind::added);
  EXPECT_TRUE(f.changes_since(6)->changes.empty());
}

TEST(FolderCache, ChangesSinceBeforeTheHorizonIsExpired) {
  FolderCache f = three();
  ASSERT_TRUE(f.expunge(1, 4));
  ASSERT_TRUE(f.expunge(2, 5));
  f.set_horizon(4);
  ASSERT_EQ(f.tombstones().size(), 1u);
  EXPECT_EQ(f.changes_since(3).code(), Errc::expired);
  auto ok = f.changes_since(4);
  ASSERT_TRUE(ok.ok());
  ASSERT_EQ(ok->changes.size(), 1u);
  EXPECT_EQ(ok->changes[0].info.uid, 2u);
}

// An expunge's entry names the message's content id (its JMAP Email id, RFC 8621 §4.1.1),
// so Email/changes (RFC 8620 §5.2) can list it as destroyed; a tombstone loaded without
// one (written before the index kept it) reports "".
TEST(FolderCache, ExpungedEntryCarriesTheMessagesContentId_Rfc8620_5_2) {
  FolderCache f = three();
  ASSERT_TRUE(f.expunge(2, 4));
  auto ch = f.changes_since(3);
  ASSERT_TRUE(ch.ok());
  ASSERT_EQ(ch->changes.size(), 1u);
  EXPECT_EQ(ch->changes[0].kind, FolderChange::Kind::expunged);
  EXPECT_EQ(ch->changes[0].info.content_id, "c2");
  ASSERT_EQ(f.tombstones().size(), 1u);
  EXPECT_EQ(f.tombstones()[0].content_id, "c2");

  FolderCounters c{.uidvalidity = 1, .uidnext = 10, .highestmodseq = 9, .horizon_modseq = 0};
  const FolderCache loaded(c, {msg(9, 9)}, {{4, 7, "c4"}, {5, 8, ""}});
  auto old = loaded.changes_since(6);
  ASSERT_TRUE(old.ok());
  ASSERT_EQ(old->changes.size(), 3u);
  EXPECT_EQ(old->changes[0].info.uid, 4u);
  EXPECT_EQ(old->changes[0].info.content_id, "c4");
  EXPECT_EQ(old->changes[1].info.uid, 5u);
  EXPECT_EQ(old->changes[1].info.content_id, "");
  EXPECT_EQ(old->changes[2].kind, FolderChange::Kind::added);
}

TEST(FolderCache, UnknownUidsChangeNothing) {
  FolderCache f = three();
  EXPECT_FALSE(f.set_flags(9, Flags{}, 4));
  EXPECT_FALSE(f.expunge(9, 4));
  EXPECT_FALSE(f.set_file(9, "cur/x"));
  EXPECT_EQ(f.counters().highestmodseq, 3u);
  EXPECT_TRUE(f.set_file(1, "cur/m1:2,S"));
  EXPECT_EQ(f.find(1)->file, "cur/m1:2,S");
  EXPECT_EQ(f.find(1)->info.modseq, 1u);  // a file move is no change of the message
}

TEST(FolderCache, ConstructorDropsTombstonesAtOrBelowTheHorizon) {
  FolderCounters c{.uidvalidity = 1, .uidnext = 10, .highestmodseq = 9, .horizon_modseq = 5};
  FolderCache f(c, {msg(9, 9)}, {{4, 8, ""}, {1, 3, ""}, {2, 5, ""}});
  ASSERT_EQ(f.tombstones().size(), 1u);
  EXPECT_EQ(f.tombstones()[0].uid, 4u);
}

// changes_since reads a modseq-ordered log with stale entries (compacted now and then):
// after any mix of adds, flag changes and expunges it must equal a full scan of the
// messages and tombstones, for every `since`.
TEST(FolderCache, Rfc7162ChangesSinceMatchesAFullScanAfterManyChanges) {
  FolderCache f = three();
  std::uint64_t modseq = 3;
  std::uint32_t next_uid = 4;
  std::uint64_t rng = 12345;
  auto roll = [&](std::uint64_t n) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (rng >> 33) % n;
  };
  for (int step = 0; step < 3000; ++step) {
    const auto live = f.messages();
    const auto what = roll(10);
    if (what <= 1 || live.empty()) {
      f.add(msg(next_uid, ++modseq), next_uid + 1);
      ++next_uid;
    } else if (what == 2 && live.size() > 2) {
      ASSERT_TRUE(f.expunge(live[roll(live.size())].info.uid, ++modseq));
    } else {
      Flags fl;
      fl.system = static_cast<std::uint8_t>(roll(4));
      ASSERT_TRUE(f.set_flags(live[roll(live.size())].info.uid, fl, ++modseq));
    }
    if (step % 97 != 0) continue;
    for (std::uint64_t since = 0; since <= modseq; since += 1 + roll(40)) {
      auto got = f.changes_since(since);
      ASSERT_TRUE(got.ok());
      std::vector<std::pair<std::uint64_t, std::uint32_t>> want, have;
      for (const auto& m : f.messages())
        if (m.info.modseq > since) want.emplace_back(m.info.modseq, m.info.uid);
      for (const auto& t : f.tombstones())
        if (t.modseq > since) want.emplace_back(t.modseq, t.uid);
      std::sort(want.begin(), want.end());
      for (const auto& c : got->changes) {
        have.emplace_back(c.info.modseq, c.info.uid);
        const bool gone = c.kind == FolderChange::Kind::expunged;
        EXPECT_EQ(gone, f.find(c.info.uid) == nullptr);
        if (!gone) {
          EXPECT_EQ(c.info.flags, f.find(c.info.uid)->info.flags);
          EXPECT_EQ(c.kind == FolderChange::Kind::added, f.find(c.info.uid)->created_modseq > since);
        }
      }
      ASSERT_EQ(have, want) << "since " << since << " at step " << step;
    }
  }
  EXPECT_GT(f.messages().size(), 3u);
}

}  // namespace
}  // namespace mail::store::index
