// SQLite on the simulator's disk (store/sqlite over SimSyncFiles and a SimLane): WAL,
// synchronous=FULL, exclusive locking. A writer commits numbered transactions; the host
// crashes at a seed-chosen step (with and without torn writes, with frequent checkpoints
// so the database file itself is torn too); after the reboot every acknowledged
// transaction is there, whole, nothing else but possibly the one in flight, and the
// database passes PRAGMA integrity_check. A closing database during the crash's teardown
// writes nothing durable.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/prng.h"
#include "runtime/await.h"
#include "simulator/sim_env.h"
#include "simulator/world.h"
#include "store/sqlite/db.h"
#include "store/sqlite/vfs.h"

namespace mail::sim {
namespace {

using store::sqlite::Db;
using store::sqlite::DbOptions;
using store::sqlite::Transaction;
using store::sqlite::Vfs;

constexpr int kTxns = 30;
constexpr int kRowsPerTxn = 3;
constexpr char kDbPath[] = "/data/index.sqlite";

DbOptions options_for(const std::unique_ptr<Vfs>& vfs) {
  DbOptions o;
  o.vfs = vfs ? vfs->name() : "";
  // Checkpoint after every few pages, so the database file is written (and torn) too.
  o.pragmas.push_back("wal_autocheckpoint=4");
  return o;
}

struct Progress {
  bool opened = false;
  int acked = 0;  // transactions whose commit returned ok
  std::string error;
};

// A payload whose size varies per row, so transactions span several pages.
std::string payload(int txn, int row) { return std::string(static_cast<std::size_t>(200 + 150 * ((txn * 7 + row) % 11)), static_cast<char>('a' + txn % 26)); }

rt::Task<void> writer(SimEnv& env, Progress* p) {
  auto vfs = Vfs::for_env(env);
  if (!vfs) {
    p->error = vfs.error().detail;
    co_return;
  }
  // Destruction order (reverse): the lane first, then the database, then its VFS.
  std::optional<Db> db;
  auto lane = env.make_blocking_lane("index");
  Status s = co_await rt::run_on(*lane, [&]() -> Status {
    auto d = Db::open(kDbPath, options_for(*vfs));
    if (!d) return fail(d.error());
    db.emplace(std::move(*d));
    return db->exec("CREATE TABLE IF NOT EXISTS t(txn INTEGER NOT NULL, row INTEGER NOT NULL, v BLOB, PRIMARY KEY(txn, row))");
  });
  if (!s) {
    p->error = s.error().detail;
    co_return;
  }
  p->opened = true;
  for (int i = 0; i < kTxns; ++i) {
    s = co_await rt::run_on(*lane, [&]() -> Status {
      auto tx = Transaction::begin(*db);
      if (!tx) return fail(tx.error());
      auto st = db->prepare("INSERT INTO t(txn, row, v) VALUES(?, ?, ?)");
      if (!st) return fail(st.error());
      for (int r = 0; r < kRowsPerTxn; ++r) {
        const std::string v = payload(i, r);
        st->bind(1, std::int64_t{i}).bind(2, std::int64_t{r}).bind_blob(3, std::as_bytes(std::span<const char>(v.data(), v.size())));
        if (auto x = st->run(); !x) return x;
      }
      return tx->commit();
    });
    if (!s) {
      p->error = s.error().detail;
      co_return;
    }
    p->acked = i + 1;
  }
}

struct Check {
  bool done = false;
  std::string error;
  std::string integrity;
  std::vector<std::pair<std::int64_t, std::int64_t>> per_txn;  // (txn, rows)
  bool payloads_ok = true;
};

rt::Task<void> checker(SimEnv& env, Check* c) {
  auto vfs = Vfs::for_env(env);
  if (!vfs) {
    c->error = vfs.error().detail;
    co_return;
  }
  std::optional<Db> db;
  auto lane = env.make_blocking_lane("check");
  Status s = co_await rt::run_on(*lane, [&]() -> Status {
    auto d = Db::open(kDbPath, options_for(*vfs));
    if (!d) return fail(d.error());
    db.emplace(std::move(*d));
    auto ic = db->query_text("PRAGMA integrity_check");
    if (!ic) return fail(ic.error());
    c->integrity = *ic;
    // The table may not exist when the crash came before its creation was durable.
    auto has = db->query_int64("SELECT count(*) FROM sqlite_master WHERE name='t'");
    if (!has) return fail(has.error());
    if (*has == 0) return {};
    auto st = db->prepare("SELECT txn, row, v FROM t ORDER BY txn, row");
    if (!st) return fail(st.error());
    for (;;) {
      auto row = st->step();
      if (!row) return fail(row.error());
      if (!*row) break;
      const std::int64_t txn = st->column_int64(0);
      const auto v = st->column_blob(2);
      const std::string want = payload(static_cast<int>(txn), static_cast<int>(st->column_int64(1)));
      if (std::string(reinterpret_cast<const char*>(v.data()), v.size()) != want) c->payloads_ok = false;
      if (c->per_txn.empty() || c->per_txn.back().first != txn) c->per_txn.emplace_back(txn, 0);
      ++c->per_txn.back().second;
    }
    return {};
  });
  if (!s) c->error = s.error().detail;
  c->done = true;
}

void run_crash_seeds(std::uint32_t tear_ppm) {
  int crashed_mid_run = 0;
  int torn_or_partial = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    SCOPED_TRACE("seed=" + std::to_string(seed) + " tear_ppm=" + std::to_string(tear_ppm));
    World w(seed);
    HostConfig hc;
    hc.name = "db";
    hc.address = "10.0.0.1";
    hc.disk.tear_ppm = tear_ppm;
    const HostId h = w.add_host(hc);
    ASSERT_TRUE(w.disk_state(h).make_dirs("/data").ok());
    ASSERT_TRUE(w.disk_state(h).sync_dir("/").ok());
    w.boot(h);
    Prng rng = w.fork("crash-step");
    Progress progress;
    w.env(h).tasks().spawn(writer(w.env(h), &progress));
    // A full run takes about 62 steps (two per transaction); some seeds crash after it.
    const std::uint64_t steps = rng.below(70);
    std::uint64_t taken = 0;
    while (taken < steps && w.step()) ++taken;
    if (taken == steps) ++crashed_mid_run;
    ASSERT_TRUE(progress.error.empty()) << progress.error;
    w.crash(h);
    w.boot(h);

    Check c;
    w.env(h).tasks().spawn(checker(w.env(h), &c));
    ASSERT_EQ(w.run_until_idle(), RunStatus::idle);
    ASSERT_TRUE(c.done);
    ASSERT_TRUE(c.error.empty()) << c.error;
    EXPECT_EQ(c.integrity, "ok");
    EXPECT_TRUE(c.payloads_ok);
    // Transactions 0..n-1, each whole; n is the acknowledged count or one more (a commit
    // that became durable before its acknowledgement was delivered).
    const int n = static_cast<int>(c.per_txn.size());
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(c.per_txn[static_cast<std::size_t>(i)].first, i);
      EXPECT_EQ(c.per_txn[static_cast<std::size_t>(i)].second, kRowsPerTxn) << "transaction " << i << " half-applied";
    }
    EXPECT_GE(n, progress.acked) << "an acknowledged transaction was lost";
    EXPECT_LE(n, progress.acked + 1);
    if (n < kTxns) ++torn_or_partial;
  }
  EXPECT_GT(crashed_mid_run, 20);
  EXPECT_GT(torn_or_partial, 20);
}

TEST(SqliteOnSimDisk, CrashKeepsEveryCommittedTransactionAndNothingHalfApplied) { run_crash_seeds(0); }

TEST(SqliteOnSimDisk, CrashWithTornWritesKeepsEveryCommittedTransaction) { run_crash_seeds(1'000'000); }

TEST(SqliteOnSimDisk, CleanCloseAndReopenKeepsEverythingAndFts5Works) {
  World w(9);
  HostConfig hc;
  hc.name = "db";
  hc.address = "10.0.0.1";
  const HostId h = w.add_host(hc);
  ASSERT_TRUE(w.disk_state(h).make_dirs("/data").ok());
  ASSERT_TRUE(w.disk_state(h).sync_dir("/").ok());
  w.boot(h);
  Progress progress;
  w.env(h).tasks().spawn(writer(w.env(h), &progress));
  ASSERT_EQ(w.run_until_idle(), RunStatus::idle);
  ASSERT_TRUE(progress.error.empty()) << progress.error;
  EXPECT_EQ(progress.acked, kTxns);
  // The writer's frame finished: its Db closed, checkpointed and removed the WAL; no
  // shared-memory file was ever made (exclusive locking keeps the WAL index in memory).
  EXPECT_TRUE(w.disk_state(h).exists(kDbPath));
  EXPECT_FALSE(w.disk_state(h).exists(std::string(kDbPath) + "-wal"));
  EXPECT_FALSE(w.disk_state(h).exists(std::string(kDbPath) + "-shm"));
  w.crash(h);
  w.boot(h);
  Check c;
  w.env(h).tasks().spawn(checker(w.env(h), &c));
  ASSERT_EQ(w.run_until_idle(), RunStatus::idle);
  ASSERT_TRUE(c.error.empty()) << c.error;
  EXPECT_EQ(c.integrity, "ok");
  EXPECT_EQ(c.per_txn.size(), static_cast<std::size_t>(kTxns));

  // FTS5 through the simulated VFS.
  struct Fts {
    std::string error;
    std::int64_t hits = -1;
  } fts;
  auto run_fts = [](SimEnv& env, Fts* out) -> rt::Task<void> {
    auto vfs = Vfs::for_env(env);
    std::optional<Db> db;
    auto lane = env.make_blocking_lane("fts");
    Status s = co_await rt::run_on(*lane, [&]() -> Status {
      auto d = Db::open("/data/fts.sqlite", options_for(*vfs));
      if (!d) return fail(d.error());
      db.emplace(std::move(*d));
      if (auto x = db->exec("CREATE VIRTUAL TABLE m USING fts5(subject, body)"); !x) return x;
      if (auto x = db->exec("INSERT INTO m VALUES('hello world', 'lunch on friday'), ('invoice', 'pay by monday')"); !x) return x;
      auto n = db->query_int64("SELECT count(*) FROM m WHERE m MATCH 'friday'");
      if (!n) return fail(n.error());
      out->hits = *n;
      return {};
    });
    if (!s) out->error = s.error().detail;
  };
  w.env(h).tasks().spawn(run_fts(w.env(h), &fts));
  ASSERT_EQ(w.run_until_idle(), RunStatus::idle);
  ASSERT_TRUE(fts.error.empty()) << fts.error;
  EXPECT_EQ(fts.hits, 1);
}

// The same seed twice: the same trace (SQLite's own file I/O is deterministic here).
TEST(SqliteOnSimDisk, SameSeedSameTrace) {
  auto run_once = [] {
    World w(11);
    HostConfig hc;
    hc.name = "db";
    hc.address = "10.0.0.1";
    hc.disk.tear_ppm = 1'000'000;
    const HostId h = w.add_host(hc);
    EXPECT_TRUE(w.disk_state(h).make_dirs("/data").ok());
    w.boot(h);
    Progress progress;
    w.env(h).tasks().spawn(writer(w.env(h), &progress));
    for (int i = 0; i < 150 && w.step(); ++i) {
    }
    w.crash(h);
    return w.trace().hash();
  };
  EXPECT_EQ(run_once(), run_once());
}

}  // namespace
}  // namespace mail::sim
