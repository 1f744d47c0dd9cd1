// The IMAP command layer (run_command over parsed commands) on the real IndexedStore (temp
// directory, production Env), with sessions logged in and ENABLEd through the real
// imap::ServerSession: \Recent for IMAP4rev1 sessions (RFC 3501 §2.3.2, §6.3.1, §6.3.10,
// §6.4.4, §6.4.6; gone in IMAP4rev2, RFC 9051 Appendix E) and QRESYNC past the change
// log's horizon (RFC 7162 §3.2.5.2, §3.2.6).
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "io/asio_env.h"
#include "io/io_test_util.h"
#include "node/imap/commands.h"
#include "proto/imap/parser.h"
#include "proto/imap/session_harness.h"
#include "store/index/indexed_store.h"

namespace mail::node::imapsrv {
namespace {

namespace fs = std::filesystem;

bool has(const std::string& hay, std::string_view needle) { return hay.find(needle) != std::string::npos; }

// One client: a ServerSession logged in (and ENABLEd) over the wire, and its context.
struct Client {
  Client(rt::Env& env, store::MailStore& store, const CommandConfig& config, imap::SessionConfig sc)
      : h(std::move(sc)), ctx{env, store, config, h.s, "alice", "", std::nullopt, {}} {}
  imap::testing::Harness h;
  SessionContext ctx;
};

class ImapCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "imap_commands.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    store::IndexedStoreConfig c;
    c.data_dir = root_;
    c.tombstones_per_folder_max = 1;  // the change log forgets all but the last expunge
    store_ = std::make_unique<store::IndexedStore>(env_, c);
    run([this]() -> rt::Task<void> { EXPECT_TRUE((co_await store_->ensure_mailbox("alice")).ok()); });
  }
  void TearDown() override {
    clients_.clear();
    store_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  void run(std::function<rt::Task<void>()> body) {
    io::test::run_task(env_, [](std::function<rt::Task<void>()> b) -> rt::Task<void> { co_await b(); }(std::move(body)));
  }

  // A logged-in client; `enable`: "IMAP4rev2", "QRESYNC" ... (ENABLE, RFC 5161), or "".
  Client& client(const std::string& enable = "") {
    imap::SessionConfig sc;
    sc.crypto = &crypto_;
    sc.credentials = &creds_;
    sc.plaintext_without_tls = true;
    sc.capabilities = {"UIDPLUS", "MOVE", "CONDSTORE", "QRESYNC"};
    clients_.push_back(std::make_unique<Client>(env_, *store_, config_, sc));
    Client& c = *clients_.back();
    EXPECT_TRUE(c.h.login());  // RFC 9051 §6.2.3 LOGIN, accepted
    if (!enable.empty()) {
      c.h.feed("E1 ENABLE " + enable + "\r\n");
      EXPECT_TRUE(has(c.h.take(), "E1 OK"));
    }
    return c;
  }

  // Runs one command; returns the untagged lines and the tagged status text.
  std::string command(Client& c, const std::string& text, Response::Status want = Response::Status::ok) {
    auto parsed = imap::parse_command(imap::RawCommand{"t " + text, {}});
    EXPECT_TRUE(parsed.command.has_value()) << text;
    if (!parsed.command) return {};
    Response r;
    run([&]() -> rt::Task<void> { r = co_await run_command(c.ctx, std::move(*parsed.command)); });
    EXPECT_EQ(r.status, want) << text << ": " << r.text;
    return r.untagged + "t " + r.text + "\r\n";
  }

  std::uint32_t append(const std::string& folder, std::string_view subject, std::uint8_t flags = 0) {
    std::uint32_t uid = 0;
    run([&]() -> rt::Task<void> {
      store::Flags f;
      f.system = flags;
      auto r = co_await store_->append("alice", folder, "Subject: " + std::string(subject) + "\r\n\r\nbody\r\n",
                                       std::move(f), 0);
      EXPECT_TRUE(r.ok());
      if (r.ok()) uid = r->uid;
    });
    return uid;
  }

  io::AsioEnv env_;
  std::string root_;
  std::unique_ptr<store::IndexedStore> store_;
  CommandConfig config_;
  imap::testing::FakeCrypto crypto_;
  imap::testing::FakeStore creds_;
  std::vector<std::unique_ptr<Client>> clients_;
};

// ------------------------------------------------------------------ \Recent

TEST_F(ImapCommands, RecentBelongsToTheFirstSessionThatSelects_Rfc3501_2_3_2) {
  append("INBOX", "one", store::flag_seen);
  append("INBOX", "two");
  Client& a = client();
  Client& b = client();
  const std::string sel_a = command(a, "SELECT INBOX");
  EXPECT_TRUE(has(sel_a, "* 2 RECENT\r\n")) << sel_a;
  EXPECT_TRUE(has(command(a, "FETCH 1:2 (FLAGS)"), "* 2 FETCH (FLAGS (\\Recent))"));
  EXPECT_TRUE(has(command(a, "FETCH 1 (FLAGS)"), "* 1 FETCH (FLAGS (\\Seen \\Recent))"));
  // RFC 3501 §6.4.4: RECENT, NEW (recent and unseen), OLD.
  EXPECT_TRUE(has(command(a, "SEARCH RECENT"), "* SEARCH 1 2\r\n"));
  EXPECT_TRUE(has(command(a, "SEARCH NEW"), "* SEARCH 2\r\n"));
  EXPECT_TRUE(has(command(a, "SEARCH OLD"), "* SEARCH\r\n"));
  // A second session selecting after the first sees them as not recent.
  const std::string sel_b = command(b, "SELECT INBOX");
  EXPECT_TRUE(has(sel_b, "* 0 RECENT\r\n")) << sel_b;
  EXPECT_FALSE(has(command(b, "FETCH 1:2 (FLAGS)"), "\\Recent"));
  EXPECT_TRUE(has(command(b, "SEARCH OLD"), "* SEARCH 1 2\r\n"));
  // New mail goes to the first session told about it: b's NOOP comes first.
  append("INBOX", "three");
  const std::string noop_b = command(b, "NOOP");
  EXPECT_TRUE(has(noop_b, "* 3 EXISTS\r\n* 1 RECENT\r\n")) << noop_b;
  EXPECT_TRUE(has(command(b, "FETCH 3 (FLAGS)"), "* 3 FETCH (FLAGS (\\Recent))"));
  const std::string noop_a = command(a, "NOOP");
  EXPECT_TRUE(has(noop_a, "* 3 EXISTS\r\n* 2 RECENT\r\n")) << noop_a;
  EXPECT_TRUE(has(command(a, "FETCH 3 (FLAGS)"), "* 3 FETCH (FLAGS ())"));
  // STATUS RECENT (RFC 3501 §6.3.10) counts what nobody has claimed.
  Client& c = client();
  EXPECT_TRUE(has(command(c, "STATUS INBOX (RECENT)"), "(RECENT 0)"));
  append("INBOX", "four");
  EXPECT_TRUE(has(command(c, "STATUS INBOX (RECENT MESSAGES)"), "(RECENT 1 MESSAGES 4)"));
  // EXAMINE shows it as recent but leaves it to the next SELECT.
  const std::string ex_c = command(c, "EXAMINE INBOX");
  EXPECT_TRUE(has(ex_c, "* 1 RECENT\r\n")) << ex_c;
  const std::string reselect = command(a, "SELECT INBOX");
  EXPECT_TRUE(has(reselect, "* 1 RECENT\r\n")) << reselect;
  EXPECT_TRUE(has(command(a, "FETCH 4 (FLAGS)"), "* 4 FETCH (FLAGS (\\Recent))"));
}

TEST_F(ImapCommands, RecentCannotBeStoredOrRemoved_Rfc3501_2_3_2_And_6_4_6) {
  append("INBOX", "one");
  Client& a = client();
  command(a, "SELECT INBOX");
  // "\Recent ... This flag can not be altered by the client": accepted and ignored.
  const std::string plus = command(a, "STORE 1 +FLAGS (\\Recent \\Flagged)");
  EXPECT_TRUE(has(plus, "* 1 FETCH (FLAGS (\\Flagged \\Recent))")) << plus;
  const std::string minus = command(a, "STORE 1 -FLAGS (\\Recent)");
  EXPECT_TRUE(has(minus, "* 1 FETCH (FLAGS (\\Flagged \\Recent))")) << minus;
  const std::string set = command(a, "STORE 1 FLAGS (\\Recent)");
  EXPECT_TRUE(has(set, "* 1 FETCH (FLAGS (\\Recent))")) << set;
  // Nothing stored: another session sees no \Recent and no flags.
  Client& b = client();
  command(b, "EXAMINE INBOX");
  EXPECT_TRUE(has(command(b, "FETCH 1 (FLAGS)"), "* 1 FETCH (FLAGS ())"));
}

TEST_F(ImapCommands, Rev2SessionsNeitherShowNorClaimRecent_Rfc9051_AppendixE) {
  append("INBOX", "one");
  Client& v2 = client("IMAP4rev2");
  const std::string sel = command(v2, "SELECT INBOX");
  EXPECT_FALSE(has(sel, "RECENT")) << sel;
  EXPECT_FALSE(has(command(v2, "FETCH 1 (FLAGS)"), "\\Recent"));
  append("INBOX", "two");
  EXPECT_FALSE(has(command(v2, "NOOP"), "RECENT"));
  // A rev2 client cannot be told, so it takes nothing away from a rev1 client.
  Client& v1 = client();
  EXPECT_TRUE(has(command(v1, "SELECT INBOX"), "* 2 RECENT\r\n"));
}

// ------------------------------------------------------------------ QRESYNC past the horizon

// Four messages; after `since` uid 2 is flagged and uids 1 and 3 are expunged, and the store
// keeps only the last expunge's record: changes_since(since) is Errc::expired.
TEST_F(ImapCommands, QresyncSelectPastTheHorizonStillSendsFlagChangesAndVanished_Rfc7162_3_2_5_2) {
  for (auto s : {"a", "b", "c", "d"}) append("INBOX", s);
  Client& setup = client();
  const std::string sel = command(setup, "SELECT INBOX");
  const auto uv_at = sel.find("[UIDVALIDITY ");
  ASSERT_NE(uv_at, std::string::npos);
  const std::string uidvalidity = sel.substr(uv_at + 13, sel.find(']', uv_at) - uv_at - 13);
  const auto hm_at = sel.find("[HIGHESTMODSEQ ");
  ASSERT_NE(hm_at, std::string::npos);
  const std::string since = sel.substr(hm_at + 15, sel.find(']', hm_at) - hm_at - 15);
  command(setup, "UID STORE 2 +FLAGS.SILENT (\\Flagged)");
  command(setup, "UID STORE 1 +FLAGS.SILENT (\\Deleted)");
  command(setup, "UID EXPUNGE 1");
  command(setup, "UID STORE 3 +FLAGS.SILENT (\\Deleted)");
  command(setup, "UID EXPUNGE 3");

  // With known UIDs: the gone ones among them; uid 2's flag change as FETCH.
  Client& q = client("QRESYNC");
  const std::string r1 = command(q, "SELECT INBOX (QRESYNC (" + uidvalidity + " " + since + " 1:4))");
  EXPECT_TRUE(has(r1, "* VANISHED (EARLIER) 1,3\r\n")) << r1;
  EXPECT_TRUE(has(r1, "* 1 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (")) << r1;
  EXPECT_FALSE(has(r1, "UID 4 ")) << r1;  // unchanged since `since`

  // Without known UIDs: 1:UIDNEXT-1 is assumed (a superset is allowed).
  Client& q2 = client("QRESYNC");
  const std::string r2 = command(q2, "SELECT INBOX (QRESYNC (" + uidvalidity + " " + since + "))");
  EXPECT_TRUE(has(r2, "* VANISHED (EARLIER) 1,3\r\n")) << r2;
  EXPECT_TRUE(has(r2, "* 1 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (")) << r2;

  // seq-match data: a client that knew seq 1 as uid 2 (it had seen uid 1 go) and finds
  // uid 2 still at seq 1 lost nothing at or below uid 2: only uid 3 is reported.
  Client& q3 = client("QRESYNC");
  const std::string r3 = command(q3, "EXAMINE INBOX (QRESYNC (" + uidvalidity + " " + since + " 1:4 (1 2)))");
  EXPECT_TRUE(has(r3, "* VANISHED (EARLIER) 3\r\n")) << r3;

  // UID FETCH ... (CHANGEDSINCE since VANISHED) in a selected mailbox (§3.2.6).
  const std::string f = command(q, "UID FETCH 1:* (FLAGS) (CHANGEDSINCE " + since + " VANISHED)");
  EXPECT_TRUE(has(f, "* VANISHED (EARLIER) 1,3\r\n")) << f;
  EXPECT_TRUE(has(f, "* 1 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (")) << f;
  EXPECT_FALSE(has(f, "UID 4 ")) << f;
}

}  // namespace
}  // namespace mail::node::imapsrv
