// AccountDb on a real database file. search_text (the full-text narrowing of IMAP SEARCH
// BODY/TEXT, RFC 9051 §6.4.4): the candidates of one folder only, every term required, and
// a query plan that runs the FTS5 MATCH once (texts the outer loop) instead of once per
// message of the folder. set_flags: one MODSEQ per message named, in order (RFC 7162 §3.1.4
// via STORE), the counter durable across a reopen. expunge: the rows' removal and the
// files' pending_unlink rows in one transaction, and tombstones that keep the expunged
// message's content id. Blocking calls straight from the test
// thread (no lane needed).
#include "store/index/account_db.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "store/index/schema.h"
#include "store/sqlite/db.h"

namespace mail::store::index {
namespace {

namespace fs = std::filesystem;

class AccountDbSearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = "/tmp/account_db_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  static NewMessage message(int n, std::string body) {
    NewMessage m;
    m.file = "new/" + std::to_string(n);
    m.size = body.size();
    m.headers = "Subject: message " + std::to_string(n) + "\r\n\r\n";
    m.text_hdr = "Subject: message " + std::to_string(n);
    m.text_body = std::move(body);
    return m;
  }
  std::string root_;
};

TEST_F(AccountDbSearchTest, CandidatesComeFromTheOneFolderAndHaveEveryTerm) {
  std::uint32_t floor = 0;
  auto db = AccountDb::open(root_ + "/index.sqlite", "", &floor);
  ASSERT_TRUE(db.ok()) << db.error().detail;
  auto folders = (*db)->create_folders({{"INBOX", "", SpecialUse::none}, {"Other", ".Other", SpecialUse::none}},
                                       1'700'000'000, 0, true);
  ASSERT_TRUE(folders.ok()) << folders.error().detail;
  ASSERT_EQ(folders->size(), 2u);
  const std::int64_t inbox = (*folders)[0].id;
  const std::int64_t other = (*folders)[1].id;
  FolderCounters after;
  std::vector<NewMessage> in;
  in.push_back(message(1, "The magic word is zyzzyva."));
  in.push_back(message(2, "nothing to see here"));
  in.push_back(message(3, "zyzzyva again, with a budget review"));
  ASSERT_TRUE((*db)->add_messages(inbox, std::move(in), &after).ok());
  std::vector<NewMessage> elsewhere;
  elsewhere.push_back(message(4, "zyzzyva in another folder"));
  ASSERT_TRUE((*db)->add_messages(other, std::move(elsewhere), &after).ok());

  auto one = (*db)->search_text(inbox, TextField::body, {"zyzzyva"});
  ASSERT_TRUE(one.ok()) << one.error().detail;
  EXPECT_EQ(*one, (std::vector<std::uint32_t>{1, 3}));
  auto both = (*db)->search_text(inbox, TextField::text, {"ZYZZYVA", "budget"});  // trigram: case-insensitive
  ASSERT_TRUE(both.ok()) << both.error().detail;
  EXPECT_EQ(*both, (std::vector<std::uint32_t>{3}));
  auto theirs = (*db)->search_text(other, TextField::body, {"zyzzyva"});
  ASSERT_TRUE(theirs.ok()) << theirs.error().detail;
  EXPECT_EQ(*theirs, (std::vector<std::uint32_t>{1}));  // uids count per folder
  auto none = (*db)->search_text(inbox, TextField::body, {"message"});  // only in the headers
  ASSERT_TRUE(none.ok()) << none.error().detail;
  EXPECT_TRUE(none->empty());
}

TEST_F(AccountDbSearchTest, SetFlagsTakesOneModseqPerMessageInOrder) {
  const std::string path = root_ + "/index.sqlite";
  std::uint32_t floor = 0;
  std::uint64_t base = 0;
  {
    auto db = AccountDb::open(path, "", &floor);
    ASSERT_TRUE(db.ok()) << db.error().detail;
    auto folders = (*db)->create_folders({{"INBOX", "", SpecialUse::none}}, 1'700'000'000, 0, true);
    ASSERT_TRUE(folders.ok()) << folders.error().detail;
    const std::int64_t inbox = (*folders)[0].id;
    FolderCounters after;
    std::vector<NewMessage> in;
    in.push_back(message(1, "one"));
    in.push_back(message(2, "two"));
    ASSERT_TRUE((*db)->add_messages(inbox, std::move(in), &after).ok());
    auto m0 = (*db)->modseq();
    ASSERT_TRUE(m0.ok());
    base = *m0;
    ASSERT_GT(base, 0u);  // the APPENDs took modseqs too
    Flags flagged;
    flagged.system = flag_flagged;
    // uid 9 is unknown: it still takes a number (a harmless gap), and gets no tombstone
    auto changed = (*db)->set_flags(inbox, {{2, flagged}, {9, flagged}, {1, flagged}});
    ASSERT_TRUE(changed.ok()) << changed.error().detail;
    EXPECT_EQ(*changed, (std::vector<Tombstone>{{2, base + 1, ""}, {1, base + 3, ""}}));
    auto changed2 = (*db)->set_flags(inbox, {{1, Flags{}}});
    ASSERT_TRUE(changed2.ok()) << changed2.error().detail;
    EXPECT_EQ(*changed2, (std::vector<Tombstone>{{1, base + 4, ""}}));
  }
  auto again = AccountDb::open(path, "", &floor);
  ASSERT_TRUE(again.ok()) << again.error().detail;
  auto m1 = (*again)->modseq();
  ASSERT_TRUE(m1.ok());
  EXPECT_EQ(*m1, base + 4);
}

// The plan, not a timing: the first loop of the statement must scan the FTS table (one
// MATCH), then look each hit's message up by id. The plain JOIN this replaced walked the
// folder's messages first and ran the MATCH for every one of them (1.7 s for a SEARCH
// BODY over 10,000 messages, bench/imap).
TEST_F(AccountDbSearchTest, QueryPlanRunsTheMatchOnceAsTheOuterLoop) {
  auto db = sqlite::Db::open(root_ + "/plan.sqlite");
  ASSERT_TRUE(db.ok()) << db.error().detail;
  ASSERT_TRUE(db->exec(schema_sql()).ok());
  auto st = db->prepare("EXPLAIN QUERY PLAN " + AccountDb::search_text_sql(true));
  ASSERT_TRUE(st.ok()) << st.error().detail;
  std::vector<std::string> steps;
  while (true) {
    auto row = st->step();
    ASSERT_TRUE(row.ok()) << row.error().detail;
    if (!*row) break;
    steps.emplace_back(st->column_text(3));
  }
  ASSERT_GE(steps.size(), 2u);
  EXPECT_EQ(steps[0].rfind("SCAN texts VIRTUAL TABLE", 0), 0u) << steps[0];
  EXPECT_NE(steps[1].find("PRIMARY KEY"), std::string::npos) << steps[1];
}

// The expunge's transaction is the atomic point (RFC 1939 §6 UPDATE): the rows go and their
// files are recorded as pending unlinks together, and the unlinks made durable since the
// last expunge are forgotten in it; a folder's delete takes its pending rows with it.
class AccountDbExpungeTest : public AccountDbSearchTest {};

TEST_F(AccountDbExpungeTest, RecordsPendingUnlinksInItsTransaction_Rfc1939_6) {
  std::uint32_t floor = 0;
  auto db = AccountDb::open(root_ + "/index.sqlite", "", &floor);
  ASSERT_TRUE(db.ok()) << db.error().detail;
  auto folders = (*db)->create_folders({{"INBOX", "", SpecialUse::none}, {"Other", ".Other", SpecialUse::none}},
                                       1'700'000'000, 0, true);
  ASSERT_TRUE(folders.ok()) << folders.error().detail;
  const std::int64_t inbox = (*folders)[0].id;
  const std::int64_t other = (*folders)[1].id;
  FolderCounters after;
  std::vector<NewMessage> in;
  for (int n = 1; n <= 3; ++n) in.push_back(message(n, "body"));
  ASSERT_TRUE((*db)->add_messages(inbox, std::move(in), &after).ok());
  std::vector<NewMessage> oth;
  oth.push_back(message(9, "body"));
  ASSERT_TRUE((*db)->add_messages(other, std::move(oth), &after).ok());

  auto out = (*db)->expunge(inbox, {1, 2}, 100, {"new/1", "new/2"});
  ASSERT_TRUE(out.ok()) << out.error().detail;
  EXPECT_EQ(out->removed.size(), 2u);
  auto pending = (*db)->pending_unlinks();
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(*pending, (std::vector<PendingUnlink>{{inbox, "new/1"}, {inbox, "new/2"}}));
  // Survives a reopen (a crash before the unlinks).
  db->reset();
  db = AccountDb::open(root_ + "/index.sqlite", "", &floor);
  ASSERT_TRUE(db.ok()) << db.error().detail;
  pending = (*db)->pending_unlinks();
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->size(), 2u);

  // The next expunge forgets new/1 (unlinked durably meanwhile) and records new/9.
  out = (*db)->expunge(other, {1}, 100, {"new/9"}, {{inbox, "new/1"}});
  ASSERT_TRUE(out.ok()) << out.error().detail;
  pending = (*db)->pending_unlinks();
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(*pending, (std::vector<PendingUnlink>{{inbox, "new/2"}, {other, "new/9"}}));
  ASSERT_TRUE((*db)->clear_pending_unlinks({{inbox, "new/2"}}).ok());
  ASSERT_TRUE((*db)->delete_folder(other).ok());
  pending = (*db)->pending_unlinks();
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());
}

// The tombstone keeps the expunged row's content id (JMAP Email/changes, RFC 8620 §5.2,
// names destroyed Emails by it), written in the expunge's transaction and read back by
// load_folder after a reopen.
TEST_F(AccountDbExpungeTest, TombstoneKeepsTheExpungedMessagesContentId_Rfc8620_5_2) {
  std::uint32_t floor = 0;
  auto db = AccountDb::open(root_ + "/index.sqlite", "", &floor);
  ASSERT_TRUE(db.ok()) << db.error().detail;
  auto folders = (*db)->create_folders({{"INBOX", "", SpecialUse::none}}, 1'700'000'000, 0, true);
  ASSERT_TRUE(folders.ok()) << folders.error().detail;
  const std::int64_t inbox = (*folders)[0].id;
  FolderCounters after;
  std::vector<NewMessage> in;
  for (int n = 1; n <= 3; ++n) {
    in.push_back(message(n, "body"));
    in.back().content_id = "cid-" + std::to_string(n);
  }
  ASSERT_TRUE((*db)->add_messages(inbox, std::move(in), &after).ok());

  auto out = (*db)->expunge(inbox, {3, 1}, 100, {"new/1", "new/3"});
  ASSERT_TRUE(out.ok()) << out.error().detail;
  ASSERT_EQ(out->removed.size(), 2u);
  EXPECT_EQ(out->removed[0].uid, 1u);
  EXPECT_EQ(out->removed[0].content_id, "cid-1");
  EXPECT_EQ(out->removed[1].uid, 3u);
  EXPECT_EQ(out->removed[1].content_id, "cid-3");

  db->reset();
  db = AccountDb::open(root_ + "/index.sqlite", "", &floor);
  ASSERT_TRUE(db.ok()) << db.error().detail;
  auto loaded = (*db)->load_folder(inbox);
  ASSERT_TRUE(loaded.ok()) << loaded.error().detail;
  ASSERT_EQ(loaded->tombstones.size(), 2u);
  EXPECT_EQ(loaded->tombstones, out->removed);  // uid, modseq and content id each
  ASSERT_EQ(loaded->messages.size(), 1u);
  EXPECT_EQ(loaded->messages[0].info.content_id, "cid-2");
}

}  // namespace
}  // namespace mail::store::index
