// IndexedStore through the MailStore interface on the production Env (io::AsioEnv, real
// files in a temp dir under /tmp, SQLite's unix VFS): accounts and the RFC 6154 folders,
// UIDs/UIDNEXT/UIDVALIDITY (RFC 9051 §2.3.1.1), STORE and MODSEQ (RFC 7162 §3.1),
// COPYUID (RFC 4315), MOVE (RFC 6851), EXPUNGE, the change log and its horizon (RFC 7162
// §3.2.5), change notifications (IDLE, RFC 2177), folder create/rename/delete (RFC 9051
// §6.3), FTS search, quota (RFC 9208), rescans of Maildir changes made by other programs,
// and the rebuild of a lost or damaged index. Every store is reopened on the same data dir
// the way a restarted process would (same Env, a new IndexedStore).
#include "store/index/indexed_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "io/asio_env.h"
#include "io/io_test_util.h"
#include "runtime/await.h"
#include "store/maildir.h"
#include "store/sqlite/db.h"

namespace mail::store {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

constexpr const char* kUser = "alice";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes a file the way another Maildir writer (an MDA, Dovecot, mutt) does: tmp/, then a
// rename into place. `dir` is a folder directory (the Maildir itself for INBOX).
void drop_file(const fs::path& dir, const std::string& sub, const std::string& name, const std::string& content) {
  const fs::path tmp = dir / "tmp" / name;
  {
    std::ofstream out(tmp, std::ios::binary);
    out << content;
  }
  fs::rename(tmp, dir / sub / name);
}

std::vector<std::string> files_in(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::uint32_t> uids_of(const FolderSnapshot& s) {
  std::vector<std::uint32_t> out;
  for (const auto& m : s.messages) out.push_back(m.uid);
  return out;
}

std::string message(std::string_view subject, std::string_view body) {
  return "From: bob@example.test\r\nTo: alice@example.test\r\nSubject: " + std::string(subject) + "\r\n\r\n" +
         std::string(body) + "\r\n";
}

Flags flags_of(std::uint8_t system, std::vector<std::string> keywords = {}) {
  Flags f;
  f.system = system;
  f.keywords = std::move(keywords);
  return f;
}

class IndexedStoreTest : public ::testing::Test {
 protected:
  IndexedStoreTest() : env_(io::test::seeded_options("mx.example.test", 11)) {}
  void SetUp() override {
    std::string tmpl = "/tmp/indexed_store_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    config_.data_dir = root_;
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Runs one store call to completion on the Env's loop and returns its result.
  template <class T>
  T call(rt::Task<T> task) {
    std::optional<T> out;
    io::test::run_task(env_, [](rt::Task<T> t, std::optional<T>* o) -> rt::Task<void> {
      o->emplace(co_await std::move(t));
    }(std::move(task), &out));
    if (!out) throw std::runtime_error("store call did not finish");
    return std::move(*out);
  }

  IndexedStore& store() {
    if (!store_) store_ = std::make_unique<IndexedStore>(store_env_ != nullptr ? *store_env_ : env_, config_);
    return *store_;
  }
  // A process restart: the databases close, a new store opens them on first use.
  void reopen() { store_.reset(); }

  void make_account(const std::string& user = kUser) { ASSERT_TRUE(call(store().ensure_mailbox(user)).ok()); }

  std::uint32_t append(const std::string& folder, const std::string& content, Flags flags = {},
                       std::int64_t date = 0) {
    auto r = call(store().append(kUser, folder, content, std::move(flags), date));
    EXPECT_TRUE(r.ok()) << r.error().detail;
    return r.ok() ? r->uid : 0;
  }

  FolderSnapshot open(const std::string& folder) {
    auto r = call(store().open_folder(kUser, folder));
    EXPECT_TRUE(r.ok()) << folder << ": " << (r.ok() ? "" : r.error().detail);
    return r.ok() ? std::move(*r) : FolderSnapshot{};
  }

  // The message's bytes, or a marker that cannot be a message of these tests.
  std::string read(const std::string& folder, std::uint32_t uid) {
    auto r = call(store().read(kUser, folder, uid));
    EXPECT_TRUE(r.ok()) << folder << " uid " << uid;
    return r.ok() ? std::move(*r) : "<read failed>";
  }

  FolderStatus status(const std::string& folder) {
    auto r = call(store().folder_status(kUser, folder));
    EXPECT_TRUE(r.ok()) << folder;
    return r.ok() ? *r : FolderStatus{};
  }

  fs::path maildir(const std::string& user = kUser) const { return maildir_path(root_, user); }
  fs::path user_dir(const std::string& user = kUser) const { return maildir(user).parent_path(); }

  io::AsioEnv env_;
  rt::Env* store_env_ = nullptr;  // the Env the next store() gets (env_ when null)
  std::string root_;
  IndexedStoreConfig config_;
  std::unique_ptr<IndexedStore> store_;
};

// ------------------------------------------------------------------ accounts

TEST_F(IndexedStoreTest, EnsureMailboxCreatesInboxAndRfc6154SpecialUseFoldersAllSubscribed) {
  make_account();
  auto folders = call(store().list_folders(kUser));
  ASSERT_TRUE(folders.ok());
  std::vector<std::pair<std::string, SpecialUse>> got;
  for (const auto& f : *folders) {
    got.emplace_back(f.name, f.special_use);
    EXPECT_TRUE(f.subscribed) << f.name;
    EXPECT_TRUE(f.selectable) << f.name;
    EXPECT_FALSE(f.has_children) << f.name;
  }
  std::sort(got.begin(), got.end());
  const std::vector<std::pair<std::string, SpecialUse>> want{
      {"Archive", SpecialUse::archive}, {"Drafts", SpecialUse::drafts}, {"INBOX", SpecialUse::none},
      {"Junk", SpecialUse::junk},       {"Sent", SpecialUse::sent},     {"Trash", SpecialUse::trash},
  };
  EXPECT_EQ(got, want);
  auto subs = call(store().list_subscriptions(kUser));
  ASSERT_TRUE(subs.ok());
  EXPECT_EQ(subs->size(), 6u);
  // Maildir++ on disk (Dovecot's layout), the index beside the Maildir.
  for (const char* d : {".Drafts", ".Sent", ".Trash", ".Junk", ".Archive"}) {
    for (const char* sub : {"tmp", "new", "cur"}) EXPECT_TRUE(fs::is_directory(maildir() / d / sub)) << d << "/" << sub;
  }
  EXPECT_TRUE(fs::exists(store().index_path(kUser)));
  EXPECT_EQ(fs::path(store().index_path(kUser)), user_dir() / "index.sqlite");
  // Every folder has its own nonzero UIDVALIDITY, UIDNEXT 1, nothing in it.
  const FolderStatus inbox = status("INBOX");
  EXPECT_NE(inbox.uidvalidity, 0u);
  EXPECT_EQ(inbox.uidnext, 1u);
  EXPECT_EQ(inbox.messages, 0u);
  // A second ensure_mailbox changes nothing.
  make_account();
  EXPECT_EQ(status("INBOX").uidvalidity, inbox.uidvalidity);
}

TEST_F(IndexedStoreTest, UnknownAccountIsNotFoundAndBadUserNameIsInvalid) {
  EXPECT_EQ(call(store().list_folders("nobody")).code(), Errc::not_found);
  EXPECT_EQ(call(store().open_folder("nobody", "INBOX")).code(), Errc::not_found);
  EXPECT_EQ(call(store().list_folders("../etc")).code(), Errc::invalid);
  make_account();
  EXPECT_EQ(call(store().open_folder(kUser, "NoSuchFolder")).code(), Errc::not_found);
  // RFC 9051 §6.3.9 TRYCREATE: APPEND into a missing folder is not_found.
  EXPECT_EQ(call(store().append(kUser, "NoSuchFolder", message("x", "y"), Flags{}, 0)).code(), Errc::not_found);
}

// ------------------------------------------------------------------ UIDs

TEST_F(IndexedStoreTest, AppendAssignsAscendingUidsAndReadReturnsExactBytes_Rfc9051_2_3_1_1) {
  make_account();
  const std::uint32_t validity = status("INBOX").uidvalidity;
  // Bytes a parser might "fix": bare LF, NUL, 8-bit, no final line end.
  const std::vector<std::string> contents{
      message("one", "first"),
      "Subject: two\n\nbare LF body\nwith \x00 NUL and \xc3\xa9 8-bit"s,
      "Subject: three\r\n\r\nno final CRLF",
  };
  std::vector<std::uint32_t> uids;
  for (const auto& c : contents) {
    auto r = call(store().append(kUser, "INBOX", c, Flags{}, 0));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->uidvalidity, validity);  // APPENDUID (RFC 4315 §3)
    uids.push_back(r->uid);
  }
  EXPECT_EQ(uids, (std::vector<std::uint32_t>{1, 2, 3}));
  const FolderStatus st = status("INBOX");
  EXPECT_EQ(st.uidnext, 4u);
  EXPECT_EQ(st.messages, 3u);
  EXPECT_EQ(st.unseen, 3u);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < contents.size(); ++i) {
    auto bytes = call(store().read(kUser, "INBOX", uids[i]));
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ(*bytes, contents[i]) << "uid " << uids[i];
    total += contents[i].size();
  }
  EXPECT_EQ(st.size, total);  // RFC 8438 STATUS=SIZE
  const FolderSnapshot snap = open("INBOX");
  ASSERT_EQ(snap.messages.size(), 3u);
  for (std::size_t i = 0; i < contents.size(); ++i) EXPECT_EQ(snap.messages[i].size, contents[i].size());
  EXPECT_EQ(call(store().read(kUser, "INBOX", 99)).code(), Errc::not_found);
  // read_many: the same bytes, in the order asked, a missing uid in its place.
  auto many = call(store().read_many(kUser, "INBOX", {3, 99, 1, 2}));
  ASSERT_TRUE(many.ok());
  ASSERT_EQ(many->size(), 4u);
  ASSERT_TRUE((*many)[0].ok() && (*many)[2].ok() && (*many)[3].ok());
  EXPECT_EQ(*(*many)[0], contents[2]);
  EXPECT_EQ((*many)[1].code(), Errc::not_found);
  EXPECT_EQ(*(*many)[2], contents[0]);
  EXPECT_EQ(*(*many)[3], contents[1]);
}

TEST_F(IndexedStoreTest, AppendKeepsFlagsKeywordsAndInternalDate_Rfc9051_6_3_12) {
  make_account();
  const std::int64_t date = 1'600'000'000;
  const std::uint32_t uid =
      append("Drafts", message("draft", "text"), flags_of(flag_draft | flag_seen, {"$Label1", "Work"}), date);
  const FolderSnapshot snap = open("Drafts");
  ASSERT_EQ(snap.messages.size(), 1u);
  const MessageInfo& m = snap.messages[0];
  EXPECT_EQ(m.uid, uid);
  EXPECT_EQ(m.flags.system, flag_draft | flag_seen);
  EXPECT_EQ(m.flags.keywords, (std::vector<std::string>{"$Label1", "Work"}));
  EXPECT_EQ(m.internal_date, date);
  EXPECT_FALSE(m.content_id.empty());
  EXPECT_GT(m.modseq, 0u);
  EXPECT_EQ(snap.status.unseen, 0u);
  // A keyword with a space is not an atom (RFC 9051 §9 flag-keyword).
  EXPECT_EQ(call(store().append(kUser, "Drafts", message("x", "y"), flags_of(0, {"two words"}), 0)).code(),
            Errc::invalid);
}

TEST_F(IndexedStoreTest, UidvalidityStableAndUidsNeverReusedAcrossReopen_Rfc9051_2_3_1_1) {
  make_account();
  const std::uint32_t validity = status("INBOX").uidvalidity;
  append("INBOX", message("a", "1"));
  const std::uint32_t second = append("INBOX", message("b", "2"));
  ASSERT_EQ(second, 2u);
  // The highest UID goes away: UIDNEXT must not fall back to it.
  auto gone = call(store().expunge(kUser, "INBOX", {second}));
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(*gone, std::vector<std::uint32_t>{second});
  reopen();
  const FolderStatus st = status("INBOX");
  EXPECT_EQ(st.uidvalidity, validity);
  EXPECT_EQ(st.uidnext, 3u);
  EXPECT_EQ(st.messages, 1u);
  EXPECT_EQ(append("INBOX", message("c", "3")), 3u);
  reopen();
  EXPECT_EQ(uids_of(open("INBOX")), (std::vector<std::uint32_t>{1, 3}));
  EXPECT_EQ(status("INBOX").uidvalidity, validity);
}

TEST_F(IndexedStoreTest, ConcurrentAppendsGetDistinctUidsWithoutGaps) {
  make_account();
  constexpr int kAppends = 24;
  int finished = 0;
  std::vector<std::uint32_t> uids;
  IndexedStore* shared = &store();
  io::test::run_task(env_, [](IndexedStore* s, io::AsioEnv* env, std::vector<std::uint32_t>* out,
                              int* fin) -> rt::Task<void> {
    for (int i = 0; i < kAppends; ++i) {
      env->tasks().spawn([](IndexedStore* st, int n, std::vector<std::uint32_t>* o, int* f) -> rt::Task<void> {
        auto r = co_await st->append(kUser, "INBOX", message("n" + std::to_string(n), "body"), Flags{}, 0);
        EXPECT_TRUE(r.ok());
        if (r.ok()) o->push_back(r->uid);
        ++*f;
      }(s, i, out, fin));
    }
    // Polls, no timing assertion: the run_task watchdog bounds it.
    auto timer = env->clock().make_timer();
    while (*fin < kAppends) {
      const Instant next = env->clock().now() + 1ms;
      co_await rt::sleep_until(*timer, next);
    }
  }(shared, &env_, &uids, &finished));
  ASSERT_EQ(finished, kAppends);
  std::sort(uids.begin(), uids.end());
  std::vector<std::uint32_t> want(kAppends);
  for (int i = 0; i < kAppends; ++i) want[static_cast<std::size_t>(i)] = static_cast<std::uint32_t>(i + 1);
  EXPECT_EQ(uids, want);
  EXPECT_EQ(status("INBOX").uidnext, static_cast<std::uint32_t>(kAppends + 1));
  EXPECT_EQ(status("INBOX").messages, static_cast<std::uint32_t>(kAppends));
}

// ------------------------------------------------------------------ STORE, MODSEQ

TEST_F(IndexedStoreTest, StoreFlagsAddRemoveSetRaiseModseq_Rfc7162_3_1) {
  make_account();
  const std::uint32_t uid = append("INBOX", message("s", "b"));
  const std::uint64_t m0 = open("INBOX").messages.at(0).modseq;

  auto added = call(store().store_flags(kUser, "INBOX", {uid}, FlagOp::add, flags_of(flag_seen, {"$Work"}), std::nullopt));
  ASSERT_TRUE(added.ok());
  ASSERT_EQ(added->changed.size(), 1u);
  EXPECT_EQ(added->changed[0].flags, flags_of(flag_seen, {"$Work"}));
  const std::uint64_t m1 = added->changed[0].modseq;
  EXPECT_GT(m1, m0);
  EXPECT_EQ(status("INBOX").highestmodseq, m1);

  // Keywords compare case-insensitively; the first spelling stays (RFC 9051 §2.3.2).
  auto again = call(store().store_flags(kUser, "INBOX", {uid}, FlagOp::add, flags_of(flag_flagged, {"$work"}), std::nullopt));
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->changed.size(), 1u);
  EXPECT_EQ(again->changed[0].flags, flags_of(flag_seen | flag_flagged, {"$Work"}));
  const std::uint64_t m2 = again->changed[0].modseq;
  EXPECT_GT(m2, m1);

  auto removed = call(store().store_flags(kUser, "INBOX", {uid}, FlagOp::remove, flags_of(flag_seen, {"$WORK"}), std::nullopt));
  ASSERT_TRUE(removed.ok());
  ASSERT_EQ(removed->changed.size(), 1u);
  EXPECT_EQ(removed->changed[0].flags, flags_of(flag_flagged));
  const std::uint64_t m3 = removed->changed[0].modseq;
  EXPECT_GT(m3, m2);

  auto set = call(store().store_flags(kUser, "INBOX", {uid}, FlagOp::set, flags_of(flag_answered, {"b", "a"}), std::nullopt));
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->changed.size(), 1u);
  EXPECT_EQ(set->changed[0].flags, flags_of(flag_answered, {"a", "b"}));  // keywords sorted
  const std::uint64_t m4 = set->changed[0].modseq;
  EXPECT_GT(m4, m3);

  // No actual change: the message keeps its MODSEQ, the folder its HIGHESTMODSEQ.
  auto same = call(store().store_flags(kUser, "INBOX", {uid}, FlagOp::add, flags_of(flag_answered), std::nullopt));
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->changed.empty());
  EXPECT_EQ(status("INBOX").highestmodseq, m4);
  // Unknown UIDs are ignored.
  auto unknown = call(store().store_flags(kUser, "INBOX", {77}, FlagOp::add, flags_of(flag_seen), std::nullopt));
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(unknown->changed.empty());

  // Flags and MODSEQ are durable: a reopen sees them.
  reopen();
  const FolderSnapshot snap = open("INBOX");
  ASSERT_EQ(snap.messages.size(), 1u);
  EXPECT_EQ(snap.messages[0].flags, flags_of(flag_answered, {"a", "b"}));
  EXPECT_EQ(snap.messages[0].modseq, m4);
  EXPECT_EQ(snap.status.highestmodseq, m4);
}

TEST_F(IndexedStoreTest, UnchangedSinceLeavesNewerMessagesAloneAndListsThem_Rfc7162_3_1_3) {
  make_account();
  const std::uint32_t a = append("INBOX", message("a", "1"));
  const std::uint32_t b = append("INBOX", message("b", "2"));
  const std::uint64_t seen_at = status("INBOX").highestmodseq;
  // Another session changes `a` after our client read seen_at.
  auto other = call(store().store_flags(kUser, "INBOX", {a}, FlagOp::add, flags_of(flag_flagged), std::nullopt));
  ASSERT_TRUE(other.ok());
  ASSERT_EQ(other->changed.size(), 1u);
  auto r = call(store().store_flags(kUser, "INBOX", {a, b}, FlagOp::add, flags_of(flag_deleted), seen_at));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->modified, std::vector<std::uint32_t>{a});
  ASSERT_EQ(r->changed.size(), 1u);
  EXPECT_EQ(r->changed[0].uid, b);
  const FolderSnapshot snap = open("INBOX");
  ASSERT_EQ(snap.messages.size(), 2u);
  EXPECT_EQ(snap.messages[0].flags.system, flag_flagged);  // not \Deleted
  EXPECT_EQ(snap.messages[1].flags.system, flag_deleted);
}

// ------------------------------------------------------------------ COPY, MOVE, EXPUNGE

TEST_F(IndexedStoreTest, CopyReturnsCopyuidMapAndKeepsSources_Rfc4315_3) {
  make_account();
  const std::string c1 = message("one", "1"), c2 = message("two", "2"), c3 = message("three", "3");
  append("Archive", message("already", "there"));  // the target's UIDs do not start at 1
  const std::uint32_t u1 = append("INBOX", c1, flags_of(flag_seen, {"$Keep"}));
  append("INBOX", c2);
  const std::uint32_t u3 = append("INBOX", c3);
  const std::uint32_t validity = status("Archive").uidvalidity;
  // Unknown UIDs (99) are left out of the map.
  auto r = call(store().copy(kUser, "INBOX", {u3, 99, u1}, "Archive"));
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->uidvalidity, validity);
  EXPECT_EQ(r->source_uids, (std::vector<std::uint32_t>{u1, u3}));
  EXPECT_EQ(r->target_uids, (std::vector<std::uint32_t>{2, 3}));
  EXPECT_EQ(open("INBOX").messages.size(), 3u);
  EXPECT_EQ(read("Archive", 2), c1);
  EXPECT_EQ(read("Archive", 3), c3);
  // Flags, size and the content id travel with the copy.
  const FolderSnapshot src = open("INBOX");
  const FolderSnapshot dst = open("Archive");
  ASSERT_EQ(dst.messages.size(), 3u);
  EXPECT_EQ(dst.messages[1].flags, flags_of(flag_seen, {"$Keep"}));
  EXPECT_EQ(dst.messages[1].content_id, src.messages[0].content_id);
  EXPECT_EQ(dst.messages[1].size, c1.size());
  // The header block is indexed for the copy too.
  auto headers = call(store().read_headers(kUser, "Archive", {2}));
  ASSERT_TRUE(headers.ok());
  ASSERT_EQ(headers->size(), 1u);
  EXPECT_NE((*headers)[0].find("Subject: one\r\n"), std::string::npos);
  EXPECT_EQ(call(store().copy(kUser, "INBOX", {u1}, "Nowhere")).code(), Errc::not_found);
}

TEST_F(IndexedStoreTest, MoveRemovesFromSourceAndReportsCopyuid_Rfc6851_3) {
  make_account();
  const std::string c1 = message("one", "1"), c2 = message("two", "2");
  const std::uint32_t u1 = append("INBOX", c1);
  const std::uint32_t u2 = append("INBOX", c2);
  const FolderSnapshot src = open("INBOX");
  ASSERT_EQ(src.messages.size(), 2u);
  const std::uint64_t before = status("INBOX").highestmodseq;
  auto r = call(store().move(kUser, "INBOX", {u1, u2}, "Trash"));
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->uidvalidity, status("Trash").uidvalidity);
  EXPECT_EQ(r->source_uids, (std::vector<std::uint32_t>{u1, u2}));
  EXPECT_EQ(r->target_uids, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_TRUE(open("INBOX").messages.empty());
  EXPECT_EQ(read("Trash", 1), c1);
  EXPECT_EQ(read("Trash", 2), c2);
  EXPECT_EQ(call(store().read(kUser, "INBOX", u1)).code(), Errc::not_found);
  // The source's log tells a session the expunges (RFC 6851 §3.3: EXPUNGE/VANISHED).
  auto ch = call(store().changes_since(kUser, "INBOX", before));
  ASSERT_TRUE(ch.ok());
  ASSERT_EQ(ch->changes.size(), 2u);
  for (const auto& c : ch->changes) EXPECT_EQ(c.kind, FolderChange::Kind::expunged);
  // Each names the moved message's content id (JMAP: the Email left this mailbox).
  EXPECT_EQ(ch->changes[0].info.uid, u1);
  EXPECT_EQ(ch->changes[0].info.content_id, src.messages[0].content_id);
  EXPECT_EQ(ch->changes[1].info.uid, u2);
  EXPECT_EQ(ch->changes[1].info.content_id, src.messages[1].content_id);
  EXPECT_FALSE(src.messages[0].content_id.empty());
  EXPECT_NE(src.messages[0].content_id, src.messages[1].content_id);
  // The INBOX files are gone; the Trash files are there.
  EXPECT_TRUE(files_in(maildir() / "new").empty());
  EXPECT_EQ(files_in(maildir() / ".Trash" / "new").size(), 2u);
  EXPECT_EQ(call(store().move(kUser, "Trash", {1}, "Trash")).code(), Errc::invalid);
}

TEST_F(IndexedStoreTest, ExpungeRemovesDeletedMessagesAndTheirFiles_Rfc9051_6_4_3) {
  make_account();
  const std::uint32_t a = append("INBOX", message("a", "1"));
  const std::uint32_t b = append("INBOX", message("b", "2"));
  const std::uint32_t c = append("INBOX", message("c", "3"));
  ASSERT_TRUE(call(store().store_flags(kUser, "INBOX", {a, c}, FlagOp::add, flags_of(flag_deleted), std::nullopt)).ok());
  EXPECT_EQ(status("INBOX").deleted, 2u);  // RFC 9051 STATUS DELETED
  // What an IMAP EXPUNGE passes: the \Deleted ones.
  std::vector<std::uint32_t> deleted;
  for (const auto& m : open("INBOX").messages) {
    if (m.flags.system & flag_deleted) deleted.push_back(m.uid);
  }
  ASSERT_EQ(deleted, (std::vector<std::uint32_t>{a, c}));
  deleted.push_back(99);  // unknown: ignored
  auto r = call(store().expunge(kUser, "INBOX", deleted));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<std::uint32_t>{a, c}));
  EXPECT_EQ(uids_of(open("INBOX")), std::vector<std::uint32_t>{b});
  EXPECT_EQ(status("INBOX").deleted, 0u);
  EXPECT_EQ(files_in(maildir() / "new").size(), 1u);
  EXPECT_EQ(call(store().read(kUser, "INBOX", a)).code(), Errc::not_found);
  // Expunged stays expunged after a restart (the rescan finds no file to bring back).
  reopen();
  EXPECT_EQ(uids_of(open("INBOX")), std::vector<std::uint32_t>{b});
}

// ------------------------------------------------------------------ change log

TEST_F(IndexedStoreTest, ChangesSinceListsAddsFlagChangesAndExpunges_Rfc7162_3_2) {
  make_account();
  const std::uint32_t a = append("INBOX", message("a", "1"));
  const std::uint32_t b = append("INBOX", message("b", "2"));
  const std::string b_content_id = open("INBOX").messages.at(1).content_id;
  ASSERT_FALSE(b_content_id.empty());
  const std::uint64_t since = status("INBOX").highestmodseq;
  const std::uint32_t c = append("INBOX", message("c", "3"));
  ASSERT_TRUE(call(store().store_flags(kUser, "INBOX", {a}, FlagOp::add, flags_of(flag_seen), std::nullopt)).ok());
  ASSERT_TRUE(call(store().expunge(kUser, "INBOX", {b})).ok());
  auto ch = call(store().changes_since(kUser, "INBOX", since));
  ASSERT_TRUE(ch.ok());
  ASSERT_EQ(ch->changes.size(), 3u);
  EXPECT_EQ(ch->changes[0].kind, FolderChange::Kind::added);
  EXPECT_EQ(ch->changes[0].info.uid, c);
  EXPECT_EQ(ch->changes[1].kind, FolderChange::Kind::flags);
  EXPECT_EQ(ch->changes[1].info.uid, a);
  EXPECT_EQ(ch->changes[1].info.flags.system, flag_seen);
  EXPECT_EQ(ch->changes[2].kind, FolderChange::Kind::expunged);
  EXPECT_EQ(ch->changes[2].info.uid, b);
  // The expunged message's content id: JMAP Email/changes (RFC 8620 §5.2) lists it destroyed.
  EXPECT_EQ(ch->changes[2].info.content_id, b_content_id);
  for (std::size_t i = 1; i < ch->changes.size(); ++i) {
    EXPECT_LT(ch->changes[i - 1].info.modseq, ch->changes[i].info.modseq);
  }
  EXPECT_EQ(ch->status.highestmodseq, ch->changes.back().info.modseq);
  EXPECT_EQ(ch->status.messages, 2u);
  // Nothing after the newest MODSEQ.
  auto none = call(store().changes_since(kUser, "INBOX", ch->status.highestmodseq));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->changes.empty());
  // The log (tombstones included) survives a restart.
  reopen();
  auto after = call(store().changes_since(kUser, "INBOX", since));
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->changes.size(), 3u);
  EXPECT_EQ(after->changes[2].kind, FolderChange::Kind::expunged);
  EXPECT_EQ(after->changes[2].info.uid, b);
  EXPECT_EQ(after->changes[2].info.content_id, b_content_id);
}

TEST_F(IndexedStoreTest, ChangesSinceOlderThanPrunedTombstonesIsExpired_Rfc7162_3_2) {
  config_.tombstones_per_folder_max = 1;
  make_account();
  const std::uint32_t a = append("INBOX", message("a", "1"));
  const std::uint32_t b = append("INBOX", message("b", "2"));
  const std::uint64_t before = status("INBOX").highestmodseq;
  ASSERT_TRUE(call(store().expunge(kUser, "INBOX", {a})).ok());
  const std::uint64_t after_first = status("INBOX").highestmodseq;
  ASSERT_TRUE(call(store().expunge(kUser, "INBOX", {b})).ok());
  // Only b's tombstone is kept: a reader at `before` would miss a's expunge.
  EXPECT_EQ(call(store().changes_since(kUser, "INBOX", before)).code(), Errc::expired);
  auto ok = call(store().changes_since(kUser, "INBOX", after_first));
  ASSERT_TRUE(ok.ok());
  ASSERT_EQ(ok->changes.size(), 1u);
  EXPECT_EQ(ok->changes[0].kind, FolderChange::Kind::expunged);
  EXPECT_EQ(ok->changes[0].info.uid, b);
  reopen();  // the horizon is durable
  EXPECT_EQ(call(store().changes_since(kUser, "INBOX", before)).code(), Errc::expired);
}

// ------------------------------------------------------------------ \Recent

// RFC 3501 §2.3.2: a message is \Recent in the first session that selects its folder; the
// store keeps the first uid not yet claimed (claim_recent), durably, per folder.
TEST_F(IndexedStoreTest, RecentIsClaimedOnceAndTheClaimSurvivesReopen_Rfc3501_2_3_2) {
  make_account();
  append("INBOX", message("a", "1"));
  append("INBOX", message("b", "2"));
  EXPECT_EQ(status("INBOX").recent, 2u);  // STATUS RECENT: nobody selected INBOX yet
  // EXAMINE only looks.
  auto peek = call(store().claim_recent(kUser, "INBOX", 3, false));
  ASSERT_TRUE(peek.ok());
  EXPECT_EQ(*peek, 1u);
  EXPECT_EQ(status("INBOX").recent, 2u);
  // The first SELECT gets uids 1 and 2; the next one none.
  auto first = call(store().claim_recent(kUser, "INBOX", 3, true));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 1u);
  EXPECT_EQ(status("INBOX").recent, 0u);
  auto second = call(store().claim_recent(kUser, "INBOX", 3, true));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, 3u);
  // New mail is recent again, for one claimer; a stale claimer cannot move the mark back.
  append("INBOX", message("c", "3"));
  EXPECT_EQ(status("INBOX").recent, 1u);
  ASSERT_TRUE(call(store().claim_recent(kUser, "INBOX", 2, true)).ok());
  EXPECT_EQ(status("INBOX").recent, 1u);
  reopen();  // durable (Dovecot keeps it in its index too)
  EXPECT_EQ(status("INBOX").recent, 1u);
  auto third = call(store().claim_recent(kUser, "INBOX", 4, true));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(*third, 3u);
  reopen();
  EXPECT_EQ(status("INBOX").recent, 0u);
  EXPECT_EQ(call(store().claim_recent(kUser, "INBOX", 4, false)).value(), 4u);
  // Other folders have their own mark.
  append("Archive", message("d", "4"));
  EXPECT_EQ(status("Archive").recent, 1u);
  EXPECT_EQ(call(store().claim_recent(kUser, "Nope", 1, true)).code(), Errc::not_found);
}

// An index made before folders.recent_uid existed (schema version 1) is migrated in place,
// not rebuilt: its messages and UIDs stay, and they count as never claimed.
TEST_F(IndexedStoreTest, SchemaVersion1IndexIsMigratedNotRebuilt) {
  make_account();
  append("INBOX", message("a", "1"));
  append("INBOX", message("b", "2"));
  const std::uint32_t uidvalidity = status("INBOX").uidvalidity;
  ASSERT_TRUE(call(store().claim_recent(kUser, "INBOX", 3, true)).ok());
  reopen();
  {
    auto db = sqlite::Db::open(store().index_path(kUser));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->exec("ALTER TABLE folders DROP COLUMN recent_uid;"
                         "DROP TABLE pending_unlink;"  // version 3's
                         "ALTER TABLE expunged DROP COLUMN content_id;"  // version 4's
                         "UPDATE meta SET value = 1 WHERE key = 'schema_version';")
                    .ok());
  }
  const FolderSnapshot snap = open("INBOX");
  EXPECT_EQ(uids_of(snap), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(snap.status.uidvalidity, uidvalidity);
  EXPECT_EQ(store().stats().rebuilds, 0u);
  EXPECT_EQ(status("INBOX").recent, 2u);
}

// An index made before pending_unlink existed (schema version 2) is migrated in place, not
// rebuilt: its messages and UIDs stay, and expunges work (they write pending_unlink).
TEST_F(IndexedStoreTest, SchemaVersion2IndexIsMigratedNotRebuilt) {
  make_account();
  append("INBOX", message("a", "1"));
  append("INBOX", message("b", "2"));
  const std::uint32_t uidvalidity = status("INBOX").uidvalidity;
  reopen();
  {
    auto db = sqlite::Db::open(store().index_path(kUser));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->exec("DROP TABLE pending_unlink;"
                         "ALTER TABLE expunged DROP COLUMN content_id;"  // version 4's
                         "UPDATE meta SET value = 2 WHERE key = 'schema_version';")
                    .ok());
  }
  const FolderSnapshot snap = open("INBOX");
  EXPECT_EQ(uids_of(snap), (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(snap.status.uidvalidity, uidvalidity);
  EXPECT_EQ(store().stats().rebuilds, 0u);
  auto r = call(store().expunge(kUser, "INBOX", {1}));
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(*r, std::vector<std::uint32_t>{1});
  EXPECT_EQ(files_in(maildir() / "new").size(), 1u);
  reopen();
  {
    auto db = sqlite::Db::open(store().index_path(kUser));
    ASSERT_TRUE(db.ok());
    auto v = db->query_int64("SELECT value FROM meta WHERE key = 'schema_version'");
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(*v, 4);
  }
  EXPECT_EQ(uids_of(open("INBOX")), std::vector<std::uint32_t>{2});
}

// An index whose tombstones predate their content ids (schema version 3) is migrated in
// place, not rebuilt: the old tombstones stay in the change log with content id "" (JMAP
// then cannot name that Email and answers cannotCalculateChanges, RFC 8620 §5.2), and new
// expunges record the content id.
TEST_F(IndexedStoreTest, SchemaVersion3IndexIsMigratedAndKeepsItsTombstones_Rfc7162_3_2) {
  make_account();
  const std::uint32_t a = append("INBOX", message("a", "1"));
  const std::uint32_t b = append("INBOX", message("b", "2"));
  const std::string b_content_id = open("INBOX").messages.at(1).content_id;
  ASSERT_FALSE(b_content_id.empty());
  const std::uint64_t since = status("INBOX").highestmodseq;
  ASSERT_TRUE(call(store().expunge(kUser, "INBOX", {a})).ok());
  const std::uint32_t uidvalidity = status("INBOX").uidvalidity;
  reopen();
  {
    auto db = sqlite::Db::open(store().index_path(kUser));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->exec("ALTER TABLE expunged DROP COLUMN content_id;"
                         "UPDATE meta SET value = 3 WHERE key = 'schema_version';")
                    .ok());
  }
  EXPECT_EQ(uids_of(open("INBOX")), std::vector<std::uint32_t>{b});
  EXPECT_EQ(status("INBOX").uidvalidity, uidvalidity);
  EXPECT_EQ(store().stats().rebuilds, 0u);
  ASSERT_TRUE(call(store().expunge(kUser, "INBOX", {b})).ok());
  auto ch = call(store().changes_since(kUser, "INBOX", since));
  ASSERT_TRUE(ch.ok()) << ch.error().detail;
  ASSERT_EQ(ch->changes.size(), 2u);
  EXPECT_EQ(ch->changes[0].kind, FolderChange::Kind::expunged);
  EXPECT_EQ(ch->changes[0].info.uid, a);
  EXPECT_EQ(ch->changes[0].info.content_id, "");  // the old tombstone, kept
  EXPECT_EQ(ch->changes[1].kind, FolderChange::Kind::expunged);
  EXPECT_EQ(ch->changes[1].info.uid, b);
  EXPECT_EQ(ch->changes[1].info.content_id, b_content_id);
  reopen();
  {
    auto db = sqlite::Db::open(store().index_path(kUser));
    ASSERT_TRUE(db.ok());
    auto v = db->query_int64("SELECT value FROM meta WHERE key = 'schema_version'");
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(*v, 4);
  }
  auto again = call(store().changes_since(kUser, "INBOX", since));
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->changes.size(), 2u);
  EXPECT_EQ(again->changes[0].info.content_id, "");
  EXPECT_EQ(again->changes[1].info.content_id, b_content_id);
}

// ------------------------------------------------------------------ expunge atomicity

// The production Disk, except that after `removes_ok` more successful removes every
// remove fails (Errc::io) until disarmed: the store's process "dies" in the middle of an
// expunge's unlinks, with the unlinks done so far persisted (a real file system may keep
// any subset of unsynced unlinks; this is the subset that breaks an unlink-first store).
class RemoveFaultDisk final : public rt::Disk {
 public:
  explicit RemoveFaultDisk(rt::Disk& inner) : inner_(inner) {}
  std::optional<int> removes_ok;  // nullopt: no fault
  int refused = 0;

  void async_write_file(std::string path, std::string data, rt::WriteMode mode, rt::Completion<void> done) override {
    inner_.async_write_file(std::move(path), std::move(data), mode, std::move(done));
  }
  void async_write_parts(std::string path, std::shared_ptr<const std::vector<std::string>> parts, rt::WriteMode mode,
                         rt::Completion<void> done) override {
    inner_.async_write_parts(std::move(path), std::move(parts), mode, std::move(done));
  }
  void async_read_file(std::string path, rt::Completion<std::string> done) override {
    inner_.async_read_file(std::move(path), std::move(done));
  }
  void async_read_range(std::string path, std::uint64_t offset, std::size_t max_bytes,
                        rt::Completion<std::string> done) override {
    inner_.async_read_range(std::move(path), offset, max_bytes, std::move(done));
  }
  void async_sync_files(std::vector<std::string> paths, rt::Completion<void> done) override {
    inner_.async_sync_files(std::move(paths), std::move(done));
  }
  void async_sync_dir(std::string path, rt::Completion<void> done) override {
    inner_.async_sync_dir(std::move(path), std::move(done));
  }
  void async_rename(std::string from, std::string to, rt::Completion<void> done) override {
    inner_.async_rename(std::move(from), std::move(to), std::move(done));
  }
  void async_link(std::string from, std::string to, rt::Completion<void> done) override {
    inner_.async_link(std::move(from), std::move(to), std::move(done));
  }
  void async_remove(std::string path, rt::Completion<void> done) override {
    if (removes_ok) {
      if (*removes_ok == 0) {
        ++refused;
        done(fail(Errc::io, "injected: remove refused"));
        return;
      }
      --*removes_ok;
    }
    inner_.async_remove(std::move(path), std::move(done));
  }
  void async_make_dirs(std::string path, rt::Completion<void> done) override {
    inner_.async_make_dirs(std::move(path), std::move(done));
  }
  void async_list_dir(std::string path, rt::Completion<std::vector<rt::DirEntry>> done) override {
    inner_.async_list_dir(std::move(path), std::move(done));
  }
  void async_file_size(std::string path, rt::Completion<std::uint64_t> done) override {
    inner_.async_file_size(std::move(path), std::move(done));
  }

 private:
  rt::Disk& inner_;
};

// The production Env with RemoveFaultDisk.
class RemoveFaultEnv final : public rt::Env {
 public:
  explicit RemoveFaultEnv(io::AsioEnv& inner) : inner_(inner), disk_(inner.disk()) {}
  RemoveFaultDisk& fault() { return disk_; }
  rt::Executor& executor() override { return inner_.executor(); }
  rt::Clock& clock() override { return inner_.clock(); }
  Prng& rng() override { return inner_.rng(); }
  rt::Net& net() override { return inner_.net(); }
  rt::Disk& disk() override { return disk_; }
  rt::Dns& dns() override { return inner_.dns(); }
  rt::Log& log() override { return inner_.log(); }
  std::string_view hostname() const override { return inner_.hostname(); }
  std::unique_ptr<rt::BlockingLane> make_blocking_lane(std::string name) override {
    return inner_.make_blocking_lane(std::move(name));
  }
  rt::SyncFiles* sync_files() override { return inner_.sync_files(); }

 private:
  io::AsioEnv& inner_;
  RemoveFaultDisk disk_;
};

class IndexedStoreExpungeCrashTest : public IndexedStoreTest {
 protected:
  void SetUp() override {
    IndexedStoreTest::SetUp();
    config_.rescan_interval = 0s;  // every open_folder looks at the disk
  }
  // A member, so it outlives the store even when an assertion returns early (TearDown).
  RemoveFaultEnv faulty_{env_};

  std::int64_t pending_rows() {
    auto db = sqlite::Db::open(store().index_path(kUser));
    EXPECT_TRUE(db.ok());
    if (!db.ok()) return -1;
    auto n = db->query_int64("SELECT count(*) FROM pending_unlink");
    EXPECT_TRUE(n.ok());
    return n.ok() ? *n : -1;
  }

  // Three messages in INBOX; expunges all of them while the disk lets `removes_ok` removes
  // through, then "crashes" (the store is dropped, nothing more is unlinked) and restarts
  // on the production disk. RFC 1939 §6 (UPDATE) and RFC 9051 §6.4.3: the expunge was
  // acknowledged, so after the restart every one of them is gone, not some.
  void crash_during_unlinks(int removes_ok) {
    RemoveFaultEnv& faulty = faulty_;
    make_account();
    std::vector<std::uint32_t> uids;
    for (int i = 0; i < 3; ++i) uids.push_back(append("INBOX", message("m" + std::to_string(i), "body")));
    const FolderStatus before = status("INBOX");
    ASSERT_EQ(files_in(maildir() / "new").size(), 3u);
    reopen();
    store_env_ = &faulty;
    faulty.fault().removes_ok = removes_ok;
    auto r = call(store().expunge(kUser, "INBOX", uids));
    ASSERT_TRUE(r.ok()) << "the expunge committed; a failed unlink is left for later: " << r.error().detail;
    EXPECT_EQ(*r, uids);
    EXPECT_GT(faulty.fault().refused, 0) << "the fault must have hit an unlink";
    EXPECT_EQ(files_in(maildir() / "new").size(), static_cast<std::size_t>(3 - removes_ok));
    // Still in the same process, with the unlinks still failing: a rescan does not take the
    // left files for new mail.
    const FolderSnapshot mid = open("INBOX");
    EXPECT_TRUE(mid.messages.empty());
    EXPECT_EQ(mid.status.uidnext, before.uidnext);
    EXPECT_EQ(store().stats().rescan_added, 0u);
    // The crash: nothing more is unlinked. Then a restart on the production disk.
    reopen();
    store_env_ = nullptr;
    EXPECT_EQ(files_in(maildir() / "new").size(), static_cast<std::size_t>(3 - removes_ok));
    const FolderSnapshot after = open("INBOX");
    EXPECT_TRUE(after.messages.empty()) << "all or none: the expunge committed, so none stay";
    EXPECT_EQ(after.status.uidnext, before.uidnext) << "no file came back as a new message";
    EXPECT_EQ(after.status.uidvalidity, before.uidvalidity);
    EXPECT_EQ(store().stats().rescan_added, 0u);
    EXPECT_EQ(store().stats().rebuilds, 0u);
    EXPECT_TRUE(files_in(maildir() / "new").empty()) << "the open finished the pending unlinks";
    EXPECT_TRUE(files_in(maildir() / "cur").empty());
    reopen();
    EXPECT_EQ(pending_rows(), 0) << "finished unlinks are forgotten";
    reopen();
    EXPECT_TRUE(open("INBOX").messages.empty());
  }
};

TEST_F(IndexedStoreExpungeCrashTest, CrashBeforeAnyUnlinkStillExpungesAll_Rfc1939_6) { crash_during_unlinks(0); }

TEST_F(IndexedStoreExpungeCrashTest, CrashMidwayThroughTheUnlinksExpungesAllNotSome_Rfc1939_6) {
  crash_during_unlinks(1);
}

// A normal expunge leaves no pending row behind for long: the next expunge's transaction
// (or the next open) forgets the unlinks made durable.
TEST_F(IndexedStoreExpungeCrashTest, FinishedUnlinksAreForgottenByTheNextExpunge) {
  make_account();
  const std::uint32_t a = append("INBOX", message("a", "1"));
  const std::uint32_t b = append("INBOX", message("b", "2"));
  ASSERT_TRUE(call(store().expunge(kUser, "INBOX", {a})).ok());
  ASSERT_TRUE(call(store().expunge(kUser, "INBOX", {b})).ok());
  EXPECT_TRUE(files_in(maildir() / "new").empty());
  reopen();
  // Only b's row may be left (its unlink was durable, its row waited for a next expunge).
  EXPECT_LE(pending_rows(), 1);
  EXPECT_TRUE(open("INBOX").messages.empty());
  reopen();
  EXPECT_EQ(pending_rows(), 0);
}

// MOVE (RFC 6851) is copy + expunge: with the source's unlinks failing, the messages are
// in the target only, also after a restart.
TEST_F(IndexedStoreExpungeCrashTest, MoveWithFailedSourceUnlinksLeavesNoDuplicate_Rfc6851_3) {
  RemoveFaultEnv& faulty = faulty_;
  make_account();
  const std::uint32_t u = append("INBOX", message("moved", "m"));
  reopen();
  store_env_ = &faulty;
  faulty.fault().removes_ok = 0;
  auto r = call(store().move(kUser, "INBOX", {u}, "Archive"));
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_TRUE(open("INBOX").messages.empty());
  reopen();
  store_env_ = nullptr;
  EXPECT_TRUE(open("INBOX").messages.empty());
  EXPECT_EQ(open("Archive").messages.size(), 1u);
  EXPECT_TRUE(files_in(maildir() / "new").empty());
  EXPECT_EQ(read("Archive", r->target_uids.at(0)), message("moved", "m"));
}

// ------------------------------------------------------------------ notifications

TEST_F(IndexedStoreTest, SubscribersHearAppendsDeliveriesFlagsAndExpunges_Rfc2177) {
  make_account();
  make_account("bob");
  std::vector<std::pair<std::string, std::uint64_t>> heard;
  auto sub = store().subscribe(kUser, [&](std::string_view folder, std::uint64_t modseq) {
    heard.emplace_back(std::string(folder), modseq);
  });
  const std::uint32_t uid = append("Sent", message("a", "1"));
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0], std::make_pair(std::string("Sent"), status("Sent").highestmodseq));
  // A delivery (SMTP) into INBOX (loaded already: its first rescan is not the point here).
  (void)open("INBOX");
  ASSERT_TRUE(call(store().deliver({kUser}, message("mail", "from outside"))).ok());
  ASSERT_EQ(heard.size(), 2u);
  EXPECT_EQ(heard[1].first, "INBOX");
  EXPECT_EQ(heard[1].second, status("INBOX").highestmodseq);
  ASSERT_TRUE(call(store().store_flags(kUser, "Sent", {uid}, FlagOp::add, flags_of(flag_seen), std::nullopt)).ok());
  ASSERT_EQ(heard.size(), 3u);
  ASSERT_TRUE(call(store().expunge(kUser, "Sent", {uid})).ok());
  ASSERT_EQ(heard.size(), 4u);
  EXPECT_EQ(heard[3], std::make_pair(std::string("Sent"), status("Sent").highestmodseq));
  // Another account's changes are not ours.
  ASSERT_TRUE(call(store().deliver({"bob"}, message("bob's", "mail"))).ok());
  EXPECT_EQ(heard.size(), 4u);
  // Unsubscribed: silence.
  sub.reset();
  append("Sent", message("b", "2"));
  EXPECT_EQ(heard.size(), 4u);
  // The delivered message is in INBOX through both interfaces.
  auto refs = call(store().list_messages(kUser));
  ASSERT_TRUE(refs.ok());
  ASSERT_EQ(refs->size(), 1u);
  auto delivered = call(store().read_message(kUser, (*refs)[0]));
  ASSERT_TRUE(delivered.ok());
  EXPECT_EQ(*delivered, message("mail", "from outside"));
}

// JMAP's Mailbox state (and IMAP's LIST in another session) must hear of a changed folder
// set: CREATE, DELETE and (UN)SUBSCRIBE notify with modseq 0 (no message changed).
TEST_F(IndexedStoreTest, SubscribersHearFolderSetChangesWithModseqZero_Rfc8621_2_2) {
  make_account();
  std::vector<std::pair<std::string, std::uint64_t>> heard;
  auto sub = store().subscribe(kUser, [&](std::string_view folder, std::uint64_t modseq) {
    heard.emplace_back(std::string(folder), modseq);
  });
  ASSERT_TRUE(call(store().create_folder(kUser, "Projects", SpecialUse::none)).ok());
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0], std::make_pair(std::string("Projects"), std::uint64_t{0}));
  ASSERT_TRUE(call(store().set_subscribed(kUser, "Projects", false)).ok());
  ASSERT_EQ(heard.size(), 2u);
  ASSERT_TRUE(call(store().delete_folder(kUser, "Projects")).ok());
  ASSERT_EQ(heard.size(), 3u);
  EXPECT_EQ(heard[2], std::make_pair(std::string("Projects"), std::uint64_t{0}));
  // A refused change tells nobody.
  EXPECT_FALSE(call(store().create_folder(kUser, "INBOX", SpecialUse::none)).ok());
  EXPECT_EQ(heard.size(), 3u);
}

// A delivery writes its file before it takes the account's lock; when the INBOX's first
// rescan runs in between, it indexes the file and the delivery's own commit finds the row.
// With the same (empty) flags that is no change: one MODSEQ, one notification, not two.
TEST_F(IndexedStoreTest, DeliveryIndexedFirstByTheRescanIsOneChange_Rfc7162_3_1) {
  make_account();
  append("Sent", message("sent", "s"));  // the account's newest change; INBOX not loaded yet
  const std::uint64_t before = status("Sent").highestmodseq;
  int heard = 0;
  auto sub = store().subscribe(kUser, [&](std::string_view, std::uint64_t) { ++heard; });
  ASSERT_TRUE(call(store().deliver({kUser}, message("first", "after start"))).ok());
  EXPECT_EQ(heard, 1);
  const FolderSnapshot snap = open("INBOX");
  ASSERT_EQ(snap.messages.size(), 1u);
  EXPECT_EQ(snap.messages[0].uid, 1u);
  // One change of the account's counter (account_db.h: once per message changed).
  EXPECT_EQ(snap.messages[0].modseq, before + 1);
  EXPECT_EQ(snap.status.highestmodseq, before + 1);
  auto ch = call(store().changes_since(kUser, "INBOX", before));
  ASSERT_TRUE(ch.ok());
  ASSERT_EQ(ch->changes.size(), 1u);
  EXPECT_EQ(ch->changes[0].kind, FolderChange::Kind::added);
}

// ------------------------------------------------------------------ folders

TEST_F(IndexedStoreTest, CreateMakesMissingParentsAndRefusesBadNames_Rfc9051_6_3_4) {
  make_account();
  ASSERT_TRUE(call(store().create_folder(kUser, "Projects/2024/Q1", SpecialUse::none)).ok());
  auto folders = call(store().list_folders(kUser));
  ASSERT_TRUE(folders.ok());
  std::map<std::string, FolderInfo> by_name;
  for (const auto& f : *folders) by_name[f.name] = f;
  ASSERT_TRUE(by_name.contains("Projects"));
  ASSERT_TRUE(by_name.contains("Projects/2024"));
  ASSERT_TRUE(by_name.contains("Projects/2024/Q1"));
  EXPECT_TRUE(by_name["Projects"].has_children);
  EXPECT_TRUE(by_name["Projects/2024"].has_children);
  EXPECT_FALSE(by_name["Projects/2024/Q1"].has_children);
  EXPECT_TRUE(by_name["Projects"].selectable);
  EXPECT_FALSE(by_name["Projects/2024/Q1"].subscribed);  // created folders are not subscribed
  EXPECT_TRUE(fs::is_directory(maildir() / ".Projects.2024.Q1" / "cur"));
  EXPECT_TRUE(fs::is_directory(maildir() / ".Projects" / "new"));
  EXPECT_EQ(call(store().create_folder(kUser, "Projects/2024", SpecialUse::none)).code(), Errc::exists);
  EXPECT_EQ(call(store().create_folder(kUser, "inbox", SpecialUse::none)).code(), Errc::exists);
  for (const char* bad : {"", "/lead", "trail/", "dou//ble", "ctl\x01"}) {
    EXPECT_EQ(call(store().create_folder(kUser, bad, SpecialUse::none)).code(), Errc::invalid) << bad;
  }
  EXPECT_EQ(call(store().create_folder(kUser, std::string(1001, 'x'), SpecialUse::none)).code(), Errc::invalid);
  // Non-ASCII names are stored in modified UTF-7 on disk (RFC 3501 §5.1.3), '.' escaped.
  ASSERT_TRUE(call(store().create_folder(kUser, "Entwürfe v1.2", SpecialUse::none)).ok());
  EXPECT_TRUE(fs::is_directory(maildir() / ".Entw&APw-rfe v1&AC4-2"));
  EXPECT_EQ(append("Entwürfe v1.2", message("u", "tf8")), 1u);
  // New folders get a UIDVALIDITY of their own; folders survive a reopen.
  const std::uint32_t validity = status("Projects/2024/Q1").uidvalidity;
  EXPECT_NE(validity, 0u);
  reopen();
  EXPECT_EQ(status("Projects/2024/Q1").uidvalidity, validity);
  EXPECT_EQ(open("Entwürfe v1.2").messages.size(), 1u);
}

TEST_F(IndexedStoreTest, RenameMovesChildrenAndKeepsMessagesAndUids_Rfc9051_6_3_6) {
  make_account();
  ASSERT_TRUE(call(store().create_folder(kUser, "Old/Child", SpecialUse::none)).ok());
  const std::string c = message("kept", "across rename");
  const std::uint32_t uid = append("Old/Child", c);
  const std::uint32_t validity = status("Old/Child").uidvalidity;
  EXPECT_EQ(call(store().rename_folder(kUser, "Old", "Archive")).code(), Errc::exists);
  EXPECT_EQ(call(store().rename_folder(kUser, "Missing", "Else")).code(), Errc::not_found);
  EXPECT_EQ(call(store().rename_folder(kUser, "Old", "Old/Below")).code(), Errc::invalid);
  EXPECT_EQ(call(store().rename_folder(kUser, "Old", "INBOX")).code(), Errc::exists);
  // The new name's missing parent becomes a folder.
  ASSERT_TRUE(call(store().rename_folder(kUser, "Old", "New/Top")).ok());
  EXPECT_EQ(call(store().open_folder(kUser, "Old")).code(), Errc::not_found);
  EXPECT_EQ(call(store().open_folder(kUser, "Old/Child")).code(), Errc::not_found);
  EXPECT_TRUE(call(store().open_folder(kUser, "New")).ok());
  EXPECT_EQ(read("New/Top/Child", uid), c);
  EXPECT_EQ(status("New/Top/Child").uidvalidity, validity);
  EXPECT_FALSE(fs::exists(maildir() / ".Old.Child"));
  EXPECT_TRUE(fs::is_directory(maildir() / ".New.Top.Child" / "new"));
  // A new folder under the old name is a different mailbox (RFC 9051 §2.3.1.1: a new
  // UIDVALIDITY, so cached UIDs of the old one are never taken for it).
  ASSERT_TRUE(call(store().create_folder(kUser, "Old/Child", SpecialUse::none)).ok());
  EXPECT_NE(status("Old/Child").uidvalidity, validity);
  EXPECT_EQ(status("Old/Child").messages, 0u);
  reopen();
  EXPECT_EQ(read("New/Top/Child", uid), c);
}

TEST_F(IndexedStoreTest, RenameInboxMovesItsMessagesAndLeavesItEmpty_Rfc9051_6_3_6) {
  make_account();
  const std::string c1 = message("one", "1"), c2 = message("two", "2");
  append("INBOX", c1);
  append("INBOX", c2);
  ASSERT_TRUE(call(store().rename_folder(kUser, "INBOX", "Old Mail")).ok());
  EXPECT_TRUE(open("INBOX").messages.empty());
  const FolderSnapshot moved = open("Old Mail");
  ASSERT_EQ(moved.messages.size(), 2u);
  EXPECT_EQ(read("Old Mail", moved.messages[0].uid), c1);
  EXPECT_EQ(read("Old Mail", moved.messages[1].uid), c2);
  // INBOX keeps working (and keeps counting its UIDs).
  EXPECT_EQ(append("INBOX", message("three", "3")), 3u);
  EXPECT_EQ(call(store().rename_folder(kUser, "inbox", "Old Mail")).code(), Errc::exists);
}

TEST_F(IndexedStoreTest, DeleteRemovesFolderAndFilesButNotChildrenOrInbox_Rfc9051_6_3_5) {
  make_account();
  ASSERT_TRUE(call(store().create_folder(kUser, "Lists/Dev", SpecialUse::none)).ok());
  append("Lists", message("a", "1"));
  append("Lists/Dev", message("b", "2"));
  EXPECT_EQ(call(store().delete_folder(kUser, "INBOX")).code(), Errc::invalid);
  EXPECT_EQ(call(store().delete_folder(kUser, "Nope")).code(), Errc::not_found);
  ASSERT_TRUE(call(store().delete_folder(kUser, "Lists")).ok());
  EXPECT_EQ(call(store().open_folder(kUser, "Lists")).code(), Errc::not_found);
  EXPECT_FALSE(fs::exists(maildir() / ".Lists"));
  EXPECT_EQ(open("Lists/Dev").messages.size(), 1u);  // children keep their names
  // Deleted for good: a reopen does not bring it back.
  reopen();
  EXPECT_EQ(call(store().open_folder(kUser, "Lists")).code(), Errc::not_found);
  EXPECT_EQ(open("Lists/Dev").messages.size(), 1u);
}

TEST_F(IndexedStoreTest, SubscriptionsMayNameMissingFolders_Rfc9051_6_3_7) {
  make_account();
  ASSERT_TRUE(call(store().set_subscribed(kUser, "Not/There", true)).ok());
  ASSERT_TRUE(call(store().set_subscribed(kUser, "Junk", false)).ok());
  reopen();
  auto subs = call(store().list_subscriptions(kUser));
  ASSERT_TRUE(subs.ok());
  EXPECT_NE(std::find(subs->begin(), subs->end(), "Not/There"), subs->end());
  EXPECT_EQ(std::find(subs->begin(), subs->end(), "Junk"), subs->end());
}

// ------------------------------------------------------------------ search, quota

TEST_F(IndexedStoreTest, SearchTextFindsBodyAndHeaderWords_Rfc9051_6_4_4) {
  make_account();
  const std::uint32_t a = append("INBOX", message("Quarterly report", "the elephant in the room"));
  const std::uint32_t b = append("INBOX", message("lunch", "a giraffe and an elephant"));
  append("INBOX", message("other", "nothing to see"));
  using V = std::vector<std::uint32_t>;
  auto search = [&](TextField field, std::vector<std::string> terms) {
    auto r = call(store().search_text(kUser, "INBOX", field, std::move(terms)));
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : V{99999};
  };
  EXPECT_EQ(search(TextField::body, {"elephant"}), (V{a, b}));
  EXPECT_EQ(search(TextField::body, {"ELEPHANT", "giraffe"}), V{b});  // all terms, any case
  EXPECT_EQ(search(TextField::text, {"quarterly"}), V{a});            // TEXT: headers too
  EXPECT_EQ(search(TextField::body, {"quarterly"}), V{});             // BODY: not the header
  EXPECT_EQ(search(TextField::text, {"alice@example"}), (V{a, b, 3}));
  EXPECT_EQ(search(TextField::text, {"zebra"}), V{});
  // Expunged messages leave the index; other folders are separate.
  ASSERT_TRUE(call(store().expunge(kUser, "INBOX", {a})).ok());
  EXPECT_EQ(search(TextField::body, {"elephant"}), V{b});
  auto archive = call(store().search_text(kUser, "Archive", TextField::body, {"elephant"}));
  ASSERT_TRUE(archive.ok());
  EXPECT_TRUE(archive->empty());
}

TEST_F(IndexedStoreTest, AppendOverQuotaIsNoSpace_Rfc9208) {
  config_.quota_messages_max = 2;
  config_.quota_bytes_max = 1000;
  make_account();
  const std::string c = message("q", "x");
  append("INBOX", c);
  append("Sent", c);  // the quota is per account, not per folder
  auto usage = call(store().usage(kUser));
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->messages, 2u);
  EXPECT_EQ(usage->bytes_used, 2 * c.size());
  EXPECT_EQ(call(store().append(kUser, "INBOX", c, Flags{}, 0)).code(), Errc::no_space);
  ASSERT_TRUE(call(store().expunge(kUser, "Sent", {1})).ok());
  // Room for one message again, but not for one of 1,000 octets.
  EXPECT_EQ(call(store().append(kUser, "INBOX", std::string(1000, 'x'), Flags{}, 0)).code(), Errc::no_space);
  EXPECT_TRUE(call(store().append(kUser, "INBOX", c, Flags{}, 0)).ok());
  EXPECT_EQ(status("INBOX").messages, 2u);
}

TEST_F(IndexedStoreTest, CopyOverQuotaIsNoSpaceMoveIsNot_Rfc9208_4_3) {
  config_.quota_messages_max = 2;
  make_account();
  const std::string c = message("q", "x");
  append("INBOX", c);
  append("INBOX", c);
  // A COPY would make four messages: refused, nothing copied.
  EXPECT_EQ(call(store().copy(kUser, "INBOX", {1, 2}, "Archive")).code(), Errc::no_space);
  EXPECT_EQ(status("Archive").messages, 0u);
  // A MOVE keeps the account's usage: allowed at the limit.
  auto moved = call(store().move(kUser, "INBOX", {1, 2}, "Archive"));
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(status("Archive").messages, 2u);
  EXPECT_EQ(status("INBOX").messages, 0u);
}

// ------------------------------------------------------------------ rescan

// Files other programs put into or took out of the Maildir (Dovecot, mutt, an MDA).
class IndexedStoreRescanTest : public IndexedStoreTest {
 protected:
  void SetUp() override {
    IndexedStoreTest::SetUp();
    config_.rescan_interval = 0s;  // every open_folder looks at the disk
  }
};

TEST_F(IndexedStoreRescanTest, FileDroppedIntoNewGetsTheNextUid) {
  make_account();
  append("INBOX", message("ours", "1"));
  const FolderStatus before = status("INBOX");
  const std::string foreign = "Subject: from procmail\r\n\r\nhello\r\n";
  drop_file(maildir(), "new", "1700000000.M1P2.otherhost", foreign);
  const FolderSnapshot snap = open("INBOX");
  ASSERT_EQ(snap.messages.size(), 2u);
  const MessageInfo& m = snap.messages[1];
  EXPECT_EQ(m.uid, before.uidnext);
  EXPECT_GT(m.modseq, before.highestmodseq);
  EXPECT_EQ(m.flags, Flags{});
  EXPECT_EQ(m.internal_date, 1'700'000'000);  // from the Maildir name's delivery time
  EXPECT_EQ(m.size, foreign.size());
  EXPECT_EQ(snap.status.uidvalidity, before.uidvalidity);
  EXPECT_EQ(read("INBOX", m.uid), foreign);
  auto headers = call(store().read_headers(kUser, "INBOX", {m.uid}));
  ASSERT_TRUE(headers.ok());
  EXPECT_EQ(headers->at(0), "Subject: from procmail\r\n\r\n");
  auto found = call(store().search_text(kUser, "INBOX", TextField::text, {"procmail"}));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, std::vector<std::uint32_t>{m.uid});
  // A session's resync reports it as added.
  auto ch = call(store().changes_since(kUser, "INBOX", before.highestmodseq));
  ASSERT_TRUE(ch.ok());
  ASSERT_EQ(ch->changes.size(), 1u);
  EXPECT_EQ(ch->changes[0].kind, FolderChange::Kind::added);
  EXPECT_EQ(store().stats().rescan_added, 1u);
  // A second look does not index it twice.
  EXPECT_EQ(open("INBOX").messages.size(), 2u);
  EXPECT_EQ(store().stats().rescan_added, 1u);
}

TEST_F(IndexedStoreRescanTest, FileDroppedIntoCurTakesItsMaildirFlagsInAnyFolder) {
  make_account();
  (void)status("Archive");
  // Dovecot's name with its size fields and info: seen, flagged, replied.
  drop_file(maildir() / ".Archive", "cur", "1700000001.M5P6.mx,S=30,W=31:2,FRS", "Subject: old\r\n\r\nread it\r\n");
  const FolderSnapshot snap = open("Archive");
  ASSERT_EQ(snap.messages.size(), 1u);
  EXPECT_EQ(snap.messages[0].uid, 1u);
  EXPECT_EQ(snap.messages[0].flags.system, flag_seen | flag_flagged | flag_answered);
  EXPECT_EQ(snap.status.unseen, 0u);
}

TEST_F(IndexedStoreRescanTest, FilesFoundAtStartupAreIndexedInNameOrder) {
  make_account();
  reopen();
  // Dropped while no store ran; the first open after a restart indexes them.
  drop_file(maildir(), "new", "1700000200.M2P1.host", "Subject: later\r\n\r\n2\r\n");
  drop_file(maildir(), "new", "1700000100.M1P1.host", "Subject: earlier\r\n\r\n1\r\n");
  config_.rescan_interval = 1h;  // the first use of a folder always rescans
  const FolderSnapshot snap = open("INBOX");
  ASSERT_EQ(snap.messages.size(), 2u);
  EXPECT_EQ(read("INBOX", snap.messages[0].uid), "Subject: earlier\r\n\r\n1\r\n");
  EXPECT_EQ(read("INBOX", snap.messages[1].uid), "Subject: later\r\n\r\n2\r\n");
}

TEST_F(IndexedStoreRescanTest, FileDeletedBehindTheStoresBackIsExpunged) {
  make_account();
  const std::uint32_t keep = append("INBOX", message("keep", "1"));
  const std::uint32_t lose = append("INBOX", message("lose", "2"));
  const std::string lose_content_id = open("INBOX").messages.at(1).content_id;
  ASSERT_FALSE(lose_content_id.empty());
  const std::uint64_t before = status("INBOX").highestmodseq;
  const auto names = files_in(maildir() / "new");
  ASSERT_EQ(names.size(), 2u);
  // Which file is `lose`: the one whose bytes say so.
  for (const auto& n : names) {
    if (slurp(maildir() / "new" / n).find("lose") != std::string::npos) fs::remove(maildir() / "new" / n);
  }
  ASSERT_EQ(files_in(maildir() / "new").size(), 1u);
  EXPECT_EQ(uids_of(open("INBOX")), std::vector<std::uint32_t>{keep});
  auto ch = call(store().changes_since(kUser, "INBOX", before));
  ASSERT_TRUE(ch.ok());
  ASSERT_EQ(ch->changes.size(), 1u);
  EXPECT_EQ(ch->changes[0].kind, FolderChange::Kind::expunged);
  EXPECT_EQ(ch->changes[0].info.uid, lose);
  EXPECT_EQ(ch->changes[0].info.content_id, lose_content_id);
  EXPECT_EQ(store().stats().rescan_removed, 1u);
  EXPECT_EQ(call(store().read(kUser, "INBOX", lose)).code(), Errc::not_found);
}

TEST_F(IndexedStoreRescanTest, FileMovedFromNewToCurKeepsItsUid) {
  make_account();
  const std::string c = message("mutt", "read me");
  const std::uint32_t uid = append("INBOX", c);
  const FolderSnapshot before = open("INBOX");
  const auto names = files_in(maildir() / "new");
  ASSERT_EQ(names.size(), 1u);
  // What a Maildir reader does when it has shown a message.
  fs::rename(maildir() / "new" / names[0], maildir() / "cur" / (names[0] + ":2,S"));
  const FolderSnapshot after = open("INBOX");
  ASSERT_EQ(after.messages.size(), 1u);
  EXPECT_EQ(after.messages[0].uid, uid);
  EXPECT_EQ(after.status.uidvalidity, before.status.uidvalidity);
  // Not a change of the message (flags live in the index: folder_layout.h), so no MODSEQ.
  EXPECT_EQ(after.messages[0].modseq, before.messages[0].modseq);
  EXPECT_EQ(after.status.highestmodseq, before.status.highestmodseq);
  EXPECT_EQ(store().stats().rescan_added, 0u);
  EXPECT_EQ(store().stats().rescan_removed, 0u);
  // The store follows the file to its new name, also after a restart.
  EXPECT_EQ(read("INBOX", uid), c);
  reopen();
  EXPECT_EQ(uids_of(open("INBOX")), std::vector<std::uint32_t>{uid});
  EXPECT_EQ(read("INBOX", uid), c);
}

// ------------------------------------------------------------------ index loss

void remove_index(const fs::path& user_dir) {
  for (const char* f : {"index.sqlite", "index.sqlite-wal", "index.sqlite-shm", "index.sqlite-journal"}) {
    std::error_code ec;
    fs::remove(user_dir / f, ec);
  }
}

// Self-heal, as Dovecot does: a folder directory that lost tmp/, new/ or cur/ (an
// administrator, another program) gets them back instead of failing deliveries and APPEND.
TEST_F(IndexedStoreRescanTest, RescanRecreatesMissingTmpNewAndCur) {
  make_account();
  const std::uint32_t uid = append("Archive", message("a", "1"));
  ASSERT_NE(uid, 0u);
  const fs::path folder = maildir() / ".Archive";
  fs::remove_all(folder / "new");  // the message goes with it
  fs::remove_all(folder / "tmp");
  fs::remove_all(maildir() / "cur");  // INBOX is the Maildir itself
  EXPECT_TRUE(open("Archive").messages.empty());
  EXPECT_TRUE(open("INBOX").messages.empty());
  for (const char* sub : {"tmp", "new", "cur"}) {
    EXPECT_TRUE(fs::is_directory(folder / sub)) << sub;
    EXPECT_TRUE(fs::is_directory(maildir() / sub)) << sub;
  }
  EXPECT_GT(append("Archive", message("b", "2")), uid);
  auto delivered = call(store().deliver_parts({kUser}, {message("c", "3")}));
  ASSERT_TRUE(delivered.ok());
  EXPECT_EQ(open("INBOX").messages.size(), 1u);
}

// Between rescans (rescan_interval 5 s): the APPEND that finds tmp/ or new/ gone makes them
// again and succeeds.
TEST_F(IndexedStoreTest, AppendRecreatesAMissingTmpOrNewBetweenRescans) {
  make_account();
  ASSERT_NE(append("Sent", message("a", "1")), 0u);
  const fs::path folder = maildir() / ".Sent";
  fs::remove_all(folder / "tmp");
  const std::uint32_t second = append("Sent", message("b", "2"));
  EXPECT_NE(second, 0u);
  EXPECT_TRUE(fs::is_directory(folder / "tmp"));
  fs::remove_all(folder / "new");  // takes both messages' files
  const std::uint32_t third = append("Sent", message("c", "3"));
  EXPECT_GT(third, second);
  EXPECT_TRUE(fs::is_directory(folder / "new"));
  EXPECT_EQ(files_in(folder / "new").size(), 1u);
  EXPECT_EQ(read("Sent", third), message("c", "3"));
  // A deleted folder stays deleted: APPEND is not_found (TRYCREATE) and makes no directory.
  ASSERT_TRUE(call(store().delete_folder(kUser, "Sent")).ok());
  EXPECT_EQ(call(store().append(kUser, "Sent", message("d", "4"), {}, 0)).code(), Errc::not_found);
  EXPECT_FALSE(fs::exists(folder));
}

TEST_F(IndexedStoreTest, LostIndexIsRebuiltFromTheMaildirWithGreaterUidvalidities) {
  make_account();
  ASSERT_TRUE(call(store().create_folder(kUser, "Projects/Big", SpecialUse::none)).ok());
  std::map<std::string, std::vector<std::string>> want;  // folder -> contents, in append order
  for (int i = 0; i < 3; ++i) want["INBOX"].push_back(message("inbox " + std::to_string(i), "b"));
  want["Archive"].push_back(message("archived", "a"));
  want["Projects/Big"].push_back(message("project", "p"));
  std::map<std::string, std::uint32_t> validity;
  for (const auto& [folder, contents] : want) {
    for (const auto& c : contents) append(folder, c);
    validity[folder] = status(folder).uidvalidity;
  }
  reopen();
  remove_index(user_dir());
  ASSERT_FALSE(fs::exists(user_dir() / "index.sqlite"));
  // A folder another program made meanwhile (Dovecot's layout) becomes a folder too.
  for (const char* sub : {"tmp", "new", "cur"}) fs::create_directories(maildir() / ".Foreign" / sub);
  const std::string foreign = "Subject: foreign\r\n\r\nf\r\n";
  drop_file(maildir() / ".Foreign", "cur", "1700000000.M9P9.other:2,S", foreign);
  want["Foreign"].push_back(foreign);

  for (const auto& [folder, contents] : want) {
    const FolderSnapshot snap = open(folder);
    // DESIGN (indexed_store.h): a rebuild hands out new UIDVALIDITYs, above every one
    // handed out before (the uidvalidity marker beside the index survives its loss), so
    // no client keeps UIDs of the old index (RFC 9051 §2.3.1.1).
    if (validity.contains(folder)) {
      EXPECT_GT(snap.status.uidvalidity, validity[folder]) << folder;
    }
    std::vector<std::string> got;
    for (const auto& m : snap.messages) got.push_back(read(folder, m.uid));
    EXPECT_EQ(got, contents) << folder;
  }
  auto folders = call(store().list_folders(kUser));
  ASSERT_TRUE(folders.ok());
  std::vector<std::string> names;
  for (const auto& f : *folders) names.push_back(f.name);
  for (const char* n : {"INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive", "Projects", "Projects/Big", "Foreign"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  }
  // The rebuilt index keeps working: new UIDs follow the rebuilt ones.
  EXPECT_EQ(append("INBOX", message("after", "rebuild")), 4u);
}

TEST_F(IndexedStoreTest, DamagedIndexIsMovedAsideAndRebuilt) {
  make_account();
  const std::string c = message("survivor", "x");
  append("INBOX", c);
  const std::uint32_t validity = status("INBOX").uidvalidity;
  reopen();
  remove_index(user_dir());
  {
    std::ofstream out(user_dir() / "index.sqlite", std::ios::binary);
    out << "this is not a SQLite database, just some bytes that are long enough to be read";
  }
  const FolderSnapshot snap = open("INBOX");
  ASSERT_EQ(snap.messages.size(), 1u);
  EXPECT_EQ(read("INBOX", snap.messages[0].uid), c);
  EXPECT_GT(snap.status.uidvalidity, validity);
  EXPECT_EQ(store().stats().rebuilds, 1u);
  bool aside = false;
  for (const auto& n : files_in(user_dir())) aside = aside || n.starts_with("index.sqlite.damaged.");
  EXPECT_TRUE(aside) << "the damaged index is kept for inspection";
}

}  // namespace
}  // namespace mail::store
