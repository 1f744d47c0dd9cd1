// store/sqlite on the production Env (AsioEnv, a ThreadLane, SQLite's own unix VFS, real
// files in a temp dir): WAL under exclusive locking makes no -shm file, committed rows
// survive a reopen, a Transaction not committed rolls back, a process killed mid-
// transaction leaves every committed one and passes integrity_check, FTS5 is available,
// SQL errors come back as Status with SQLite's message.
#include "store/sqlite/db.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "io/asio_env.h"
#include "io/io_test_util.h"
#include "runtime/await.h"
#include "store/sqlite/vfs.h"

namespace mail::store::sqlite {
namespace {

namespace fs = std::filesystem;

class SqliteDbTest : public ::testing::Test {
 protected:
  SqliteDbTest() : env_(io::test::seeded_options("db.example.test", 7)) {}
  void SetUp() override {
    std::string tmpl = "/tmp/sqlite_db_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    path_ = root_ + "/index.sqlite";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  io::AsioEnv env_;
  std::string root_;
  std::string path_;
};

rt::Task<void> create_and_fill(rt::Env& env, std::string path, int rows, Status* out) {
  auto vfs = Vfs::for_env(env);  // production: none, SQLite's unix VFS
  EXPECT_TRUE(vfs.ok());
  EXPECT_EQ(vfs->get(), nullptr);
  std::optional<Db> db;
  auto lane = env.make_blocking_lane("index");
  *out = co_await rt::run_on(*lane, [&]() -> Status {
    auto d = Db::open(path);
    if (!d) return fail(d.error());
    db.emplace(std::move(*d));
    if (auto s = db->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL)"); !s) return s;
    auto tx = Transaction::begin(*db);
    if (!tx) return fail(tx.error());
    auto st = db->prepare("INSERT INTO t(v) VALUES(?)");
    if (!st) return fail(st.error());
    for (int i = 0; i < rows; ++i) {
      if (auto s = st->bind(1, "row " + std::to_string(i)).run(); !s) return s;
    }
    if (auto s = tx->commit(); !s) return s;
    // Not committed: rolled back when the guard goes.
    auto tx2 = Transaction::begin(*db);
    if (!tx2) return fail(tx2.error());
    return db->exec("DELETE FROM t");
  });
  // Still open here: WAL mode, and no shared-memory file (exclusive locking).
  EXPECT_TRUE(fs::exists(path + "-wal"));
  EXPECT_FALSE(fs::exists(path + "-shm"));
  auto mode = co_await rt::run_on(*lane, [&] { return db->query_text("PRAGMA journal_mode"); });
  EXPECT_TRUE(mode.ok());
  if (mode.ok()) {
    EXPECT_EQ(*mode, "wal");
  }
  // The lane goes before the Db (a job may be using it), the Db at the end of the frame.
  lane.reset();
}

rt::Task<void> read_back(rt::Env& env, std::string path, std::int64_t* count, std::string* integrity, std::string* last) {
  std::optional<Db> db;
  auto lane = env.make_blocking_lane("index");
  Status s = co_await rt::run_on(*lane, [&]() -> Status {
    DbOptions o;
    o.create = false;
    auto d = Db::open(path, o);
    if (!d) return fail(d.error());
    db.emplace(std::move(*d));
    auto ic = db->query_text("PRAGMA integrity_check");
    if (!ic) return fail(ic.error());
    *integrity = *ic;
    auto n = db->query_int64("SELECT count(*) FROM t");
    if (!n) return fail(n.error());
    *count = *n;
    auto v = db->query_text("SELECT v FROM t ORDER BY id DESC LIMIT 1");
    if (!v) return fail(v.error());
    *last = *v;
    return {};
  });
  EXPECT_TRUE(s.ok()) << s.error().detail;
  lane.reset();
}

TEST_F(SqliteDbTest, CommittedRowsSurviveAReopenAndAnUncommittedTransactionRollsBack) {
  Status filled = fail(Errc::io, "not run");
  io::test::run_task(env_, create_and_fill(env_, path_, 100, &filled));
  ASSERT_TRUE(filled.ok()) << filled.error().detail;
  std::int64_t count = -1;
  std::string integrity, last;
  io::test::run_task(env_, read_back(env_, path_, &count, &integrity, &last));
  EXPECT_EQ(count, 100);
  EXPECT_EQ(integrity, "ok");
  EXPECT_EQ(last, "row 99");
}

// A process killed mid-transaction (no close, no checkpoint): the WAL holds every
// committed transaction and none of the open one.
TEST_F(SqliteDbTest, KilledProcessKeepsEveryCommittedTransaction) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child: plain SQLite calls, no Env (no threads to inherit), then _exit.
    auto db = Db::open(path_);
    if (!db) ::_exit(2);
    if (!db->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL)")) ::_exit(3);
    for (int i = 0; i < 20; ++i) {
      auto tx = Transaction::begin(*db);
      if (!tx) ::_exit(4);
      if (!db->exec("INSERT INTO t(v) VALUES('committed " + std::to_string(i) + "')")) ::_exit(5);
      if (!tx->commit()) ::_exit(6);
    }
    auto tx = Transaction::begin(*db);
    if (!tx) ::_exit(7);
    if (!db->exec("INSERT INTO t(v) SELECT 'uncommitted' FROM t")) ::_exit(8);
    ::_exit(0);  // a kill: no destructor runs
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  ASSERT_TRUE(fs::exists(path_ + "-wal"));
  std::int64_t count = -1;
  std::string integrity, last;
  io::test::run_task(env_, read_back(env_, path_, &count, &integrity, &last));
  EXPECT_EQ(count, 20);
  EXPECT_EQ(integrity, "ok");
  EXPECT_EQ(last, "committed 19");
}

TEST_F(SqliteDbTest, Fts5IsAvailable) {
  auto db = Db::open(path_);
  ASSERT_TRUE(db.ok()) << db.error().detail;
  ASSERT_TRUE(db->exec("CREATE VIRTUAL TABLE m USING fts5(subject, body)").ok());
  ASSERT_TRUE(db->exec("INSERT INTO m VALUES('Lunch', 'see you on friday'), ('Invoice', 'due monday')").ok());
  auto n = db->query_int64("SELECT count(*) FROM m WHERE m MATCH 'friday'");
  ASSERT_TRUE(n.ok()) << n.error().detail;
  EXPECT_EQ(*n, 1);
}

TEST_F(SqliteDbTest, ErrorsCarrySqlitesMessage) {
  auto db = Db::open(path_);
  ASSERT_TRUE(db.ok());
  auto st = db->prepare("SELEC 1");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Errc::invalid);
  EXPECT_NE(st.error().detail.find("syntax error"), std::string::npos) << st.error().detail;
  ASSERT_TRUE(db->exec("CREATE TABLE u(k TEXT PRIMARY KEY)").ok());
  ASSERT_TRUE(db->exec("INSERT INTO u VALUES('a')").ok());
  auto dup = db->exec("INSERT INTO u VALUES('a')");
  EXPECT_EQ(dup.code(), Errc::exists);
  EXPECT_NE(dup.error().detail.find("UNIQUE"), std::string::npos) << dup.error().detail;
  DbOptions o;
  o.create = false;
  EXPECT_EQ(Db::open(root_ + "/missing.sqlite", o).code(), Errc::not_found);
  o.create = true;
  o.pragmas = {"journal_mode=bogus_mode"};
  auto bad = Db::open(root_ + "/bad.sqlite", o);
  EXPECT_FALSE(bad.ok());
}

// The statement cache (db.h): a statement handed back and prepared again starts with no
// bindings and from its first row; two live statements of one text are independent; a
// statement half-stepped when handed back does not hold the table (a DROP works after);
// a moved Db keeps its cache; schema changes re-prepare; closing with cached statements
// leaks nothing (ASan).
TEST_F(SqliteDbTest, CachedStatementsStartCleanAndStayIndependent) {
  auto opened = Db::open(path_);
  ASSERT_TRUE(opened.ok()) << opened.error().detail;
  Db db = std::move(*opened);  // the cache moves with it
  ASSERT_TRUE(db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)").ok());
  ASSERT_TRUE(db.exec("INSERT INTO t(v) VALUES('a'), ('b'), ('c')").ok());
  constexpr std::string_view kSelect = "SELECT ?1 IS NULL, v FROM t ORDER BY id";
  {
    auto st = db.prepare(kSelect);
    ASSERT_TRUE(st.ok());
    st->bind(1, "bound");
    auto row = st->step();
    ASSERT_TRUE(row.ok() && *row);
    EXPECT_EQ(st->column_int64(0), 0);
    EXPECT_EQ(st->column_text(1), "a");
    // Handed back mid-result, bound.
  }
  {
    auto again = db.prepare(kSelect);
    ASSERT_TRUE(again.ok());
    auto row = again->step();
    ASSERT_TRUE(row.ok() && *row);
    EXPECT_EQ(again->column_int64(0), 1) << "a reused statement kept an old binding";
    EXPECT_EQ(again->column_text(1), "a") << "a reused statement did not start from its first row";
    auto other = db.prepare(kSelect);  // the same text while the first is in use
    ASSERT_TRUE(other.ok());
    auto r2 = other->step();
    ASSERT_TRUE(r2.ok() && *r2);
    EXPECT_EQ(other->column_text(1), "a");
    auto r1 = again->step();
    ASSERT_TRUE(r1.ok() && *r1);
    EXPECT_EQ(again->column_text(1), "b");
  }
  ASSERT_TRUE(db.run("BEGIN IMMEDIATE").ok());
  ASSERT_TRUE(db.exec("ALTER TABLE t ADD COLUMN w TEXT DEFAULT 'x'").ok());
  ASSERT_TRUE(db.run("COMMIT").ok());
  {
    auto st = db.prepare(kSelect);  // cached before the ALTER: SQLite re-prepares it
    ASSERT_TRUE(st.ok());
    auto row = st->step();
    EXPECT_TRUE(row.ok() && *row);
  }
  EXPECT_TRUE(db.exec("DROP TABLE t").ok()) << "a cached statement still held the table";
  // From the cache, prepare() succeeds; the missing table is an error of step().
  auto gone = db.prepare(kSelect);
  if (gone.ok()) {
    auto row = gone->step();
    EXPECT_FALSE(row.ok());
  }
}

}  // namespace
}  // namespace mail::store::sqlite
