// Db: a small RAII wrapper over one SQLite connection (open with pragmas, exec, prepared
// statements, a transaction guard), for store/ code. Errors are mail::Status carrying the
// SQLite message; misuse (a bad bind index, stepping a finished statement) asserts.
// Every call blocks (file I/O, fsync): make them only inside a rt::BlockingLane job, and
// use a Db from one lane only. Destroy that lane before the Db (a running job may still
// use it; the lane's destructor waits for it), and the Db before its Vfs: declare them
// Vfs, Db, lane. No SQLite type appears here except as an opaque pointer.
// Prepared statements are cached per Db by their SQL text: a Statement handed back (its
// destructor) is reset, its bindings cleared, and kept for the next prepare() of the same
// text — parsing was most of the cost of opening an account and of small transactions
// (the simulator spent 40% of its time in sqlite3_prepare).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace mail::store::sqlite {

struct DbOptions {
  // The VFS to open with (store/sqlite/vfs.h: Vfs::name()); empty for SQLite's default,
  // the OS. The VFS must outlive the Db.
  std::string vfs;
  bool create = true;  // create the file when missing
  // Run in order right after opening, each as "PRAGMA <p>"; a failing one fails open().
  std::vector<std::string> pragmas = default_pragmas();

  // locking_mode=EXCLUSIVE first (before WAL is touched, so WAL keeps its index in heap
  // memory and needs no shared-memory file), then journal_mode=WAL, synchronous=FULL
  // (a commit is durable when it returns), temp_store=MEMORY (no temp files),
  // foreign_keys=ON.
  static std::vector<std::string> default_pragmas();
};

class Db;
struct StatementCache;  // db.cpp; owned by a Db, at a stable address

// A prepared statement; valid while its Db lives. Binding and reading columns use
// SQLite's 1-based parameter and 0-based column indexes.
class Statement {
 public:
  Statement() = default;
  Statement(Statement&& o) noexcept;
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view text);  // copied
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind_blob(int index, std::span<const std::byte> bytes);  // copied
  Statement& bind_null(int index);

  // ok(true): a row is ready for column_*; ok(false): done (reset() before reusing).
  [[nodiscard]] Result<bool> step();
  // step() expecting no row (INSERT/UPDATE/DELETE/DDL); then reset().
  [[nodiscard]] Status run();
  // Makes the statement runnable again; bindings stay unless clear_bindings().
  void reset() noexcept;
  void clear_bindings() noexcept;

  int column_count() const noexcept;
  bool column_is_null(int col) const noexcept;
  std::int64_t column_int64(int col) const noexcept;
  // Views valid until the next step(), reset() or destruction.
  std::string_view column_text(int col) const noexcept;
  std::span<const std::byte> column_blob(int col) const noexcept;

  explicit operator bool() const noexcept { return stmt_ != nullptr; }

 private:
  friend class Db;
  Statement(::sqlite3* db, ::sqlite3_stmt* stmt, StatementCache* cache) noexcept
      : db_(db), stmt_(stmt), cache_(cache) {}
  void release() noexcept;  // back to the cache (or finalized)
  ::sqlite3* db_ = nullptr;
  ::sqlite3_stmt* stmt_ = nullptr;
  StatementCache* cache_ = nullptr;
};

class Db {
 public:
  // Opens (creating per options) the database at `path` and runs the pragmas. Errc:
  // not_found (no such file, create=false), no_space, io, invalid (a bad pragma).
  [[nodiscard]] static Result<Db> open(const std::string& path, const DbOptions& options = {});

  Db() = default;
  Db(Db&& o) noexcept;
  Db& operator=(Db&& o) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();  // closes (SQLite may checkpoint the WAL then; errors are ignored)

  // Runs one or more ';'-separated statements that return no rows needed (never cached).
  [[nodiscard]] Status exec(std::string_view sql);
  // One statement, from the cache when this text was prepared before and is not in use
  // (then an error the schema causes — a dropped table — comes from step(), not here).
  [[nodiscard]] Result<Statement> prepare(std::string_view sql);
  // prepare() + run(): one statement without rows (BEGIN, COMMIT, ROLLBACK), cached.
  [[nodiscard]] Status run(std::string_view sql);
  // The single value of a one-row, one-column query (e.g. "PRAGMA integrity_check" is
  // text; use query_text), or Errc::not_found when it returns no row.
  [[nodiscard]] Result<std::int64_t> query_int64(std::string_view sql);
  [[nodiscard]] Result<std::string> query_text(std::string_view sql);

  std::int64_t last_insert_rowid() const noexcept;
  std::int64_t changes() const noexcept;  // rows changed by the last statement
  bool in_transaction() const noexcept;   // not in autocommit mode

  explicit operator bool() const noexcept { return db_ != nullptr; }
  ::sqlite3* raw() const noexcept { return db_; }  // for store/sqlite internals and tests

 private:
  explicit Db(::sqlite3* db) noexcept;
  void close() noexcept;  // finalizes the cached statements, then closes
  ::sqlite3* db_ = nullptr;
  StatementCache* cache_ = nullptr;  // owned; freed by close()
};

// BEGIN IMMEDIATE on construction (begin()), ROLLBACK on destruction unless commit()ed.
class Transaction {
 public:
  [[nodiscard]] static Result<Transaction> begin(Db& db);
  Transaction(Transaction&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  ~Transaction();
  // COMMIT; on failure the transaction is rolled back (by SQLite or by the destructor).
  [[nodiscard]] Status commit();

 private:
  explicit Transaction(Db& db) noexcept : db_(&db) {}
  Db* db_ = nullptr;
};

}  // namespace mail::store::sqlite
