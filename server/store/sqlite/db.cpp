// Db, Statement, Transaction over the SQLite C API (see db.h).
#include "store/sqlite/db.h"

#include <sqlite3.h>

#include <functional>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/ascii.h"
#include "core/assert.h"

namespace mail::store::sqlite {

// The free statements of one Db by SQL text (at most one per text: a second one handed
// back while the first waits is finalized). The texts are the program's own, a bounded
// set; kMax caps it anyway.
struct StatementCache {
  static constexpr std::size_t kMax = 256;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, ::sqlite3_stmt*, Hash, std::equal_to<>> free;

  ::sqlite3_stmt* take(std::string_view sql) noexcept {
    auto it = free.find(sql);
    if (it == free.end()) return nullptr;
    ::sqlite3_stmt* st = it->second;
    free.erase(it);
    return st;
  }
  void give(::sqlite3_stmt* st) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    const char* text = sqlite3_sql(st);
    if (text == nullptr || free.size() >= kMax) {
      sqlite3_finalize(st);
      return;
    }
    auto [it, added] = free.try_emplace(std::string(text), st);
    if (!added) sqlite3_finalize(st);
  }
  ~StatementCache() {
    for (auto& [text, st] : free) sqlite3_finalize(st);
  }
};

namespace {

Errc errc_of(int rc) noexcept {
  switch (rc & 0xff) {
    case SQLITE_FULL: return Errc::no_space;
    case SQLITE_CANTOPEN: return Errc::not_found;
    case SQLITE_CONSTRAINT: return Errc::exists;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Errc::unavailable;
    case SQLITE_ERROR:
    case SQLITE_MISUSE:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    // The file's bytes are not a (sound) database: damage, never a transient failure.
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Errc::invalid;
    default: return Errc::io;  // IOERR (a read or write failed: may pass), NOMEM, ...
  }
}

// "sqlite: <what>: <message> (<extended code>)".
Error error_of(::sqlite3* db, int rc, std::string_view what) {
  std::string d = "sqlite: ";
  d.append(what);
  d.append(": ");
  d.append(db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  d.append(" (");
  d.append(std::to_string(db != nullptr ? sqlite3_extended_errcode(db) : rc));
  d.append(")");
  return Error{errc_of(rc), std::move(d)};
}

}  // namespace

// ============================================================================ Statement

Statement::Statement(Statement&& o) noexcept
    : db_(std::exchange(o.db_, nullptr)), stmt_(std::exchange(o.stmt_, nullptr)), cache_(std::exchange(o.cache_, nullptr)) {}

Statement& Statement::operator=(Statement&& o) noexcept {
  if (this != &o) {
    release();
    db_ = std::exchange(o.db_, nullptr);
    stmt_ = std::exchange(o.stmt_, nullptr);
    cache_ = std::exchange(o.cache_, nullptr);
  }
  return *this;
}

Statement::~Statement() { release(); }

void Statement::release() noexcept {
  ::sqlite3_stmt* st = std::exchange(stmt_, nullptr);
  if (st == nullptr) return;
  if (cache_ == nullptr) {
    sqlite3_finalize(st);
    return;
  }
  cache_->give(st);
}

// A failing bind is a programmer error (index out of range) or out of memory.
Statement& Statement::bind(int index, std::int64_t value) {
  MAIL_ASSERT(stmt_ != nullptr);
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  MAIL_ASSERT(rc == SQLITE_OK);
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  MAIL_ASSERT(stmt_ != nullptr);
  const int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  MAIL_ASSERT(rc == SQLITE_OK);
  return *this;
}

Statement& Statement::bind_blob(int index, std::span<const std::byte> bytes) {
  MAIL_ASSERT(stmt_ != nullptr);
  // A zero-length blob (not NULL) needs a non-null pointer.
  static const std::byte empty{};
  const void* p = bytes.empty() ? &empty : bytes.data();
  const int rc = sqlite3_bind_blob64(stmt_, index, p, bytes.size(), SQLITE_TRANSIENT);
  MAIL_ASSERT(rc == SQLITE_OK);
  return *this;
}

Statement& Statement::bind_null(int index) {
  MAIL_ASSERT(stmt_ != nullptr);
  const int rc = sqlite3_bind_null(stmt_, index);
  MAIL_ASSERT(rc == SQLITE_OK);
  return *this;
}

Result<bool> Statement::step() {
  MAIL_ASSERT(stmt_ != nullptr);
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return fail(error_of(db_, rc, "step"));
}

Status Statement::run() {
  auto r = step();
  reset();
  if (!r) return fail(r.error());
  MAIL_ASSERT(!*r && "run() on a statement that returns rows");
  return {};
}

void Statement::reset() noexcept {
  MAIL_ASSERT(stmt_ != nullptr);
  (void)sqlite3_reset(stmt_);  // repeats the last step's error, already reported
}

void Statement::clear_bindings() noexcept {
  MAIL_ASSERT(stmt_ != nullptr);
  (void)sqlite3_clear_bindings(stmt_);
}

int Statement::column_count() const noexcept { return sqlite3_column_count(stmt_); }

bool Statement::column_is_null(int col) const noexcept { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::int64_t Statement::column_int64(int col) const noexcept { return sqlite3_column_int64(stmt_, col); }

std::string_view Statement::column_text(int col) const noexcept {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  const int n = sqlite3_column_bytes(stmt_, col);  // after _text, as SQLite asks
  if (p == nullptr) return {};
  return {p, static_cast<std::size_t>(n)};
}

std::span<const std::byte> Statement::column_blob(int col) const noexcept {
  const auto* p = static_cast<const std::byte*>(sqlite3_column_blob(stmt_, col));
  const int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr) return {};
  return {p, static_cast<std::size_t>(n)};
}

// ============================================================================ Db

std::vector<std::string> DbOptions::default_pragmas() {
  return {"locking_mode=EXCLUSIVE", "journal_mode=WAL", "synchronous=FULL", "temp_store=MEMORY", "foreign_keys=ON"};
}

Result<Db> Db::open(const std::string& path, const DbOptions& options) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (options.create) flags |= SQLITE_OPEN_CREATE;
  ::sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, options.vfs.empty() ? nullptr : options.vfs.c_str());
  Db db(raw);  // closes on every early return (sqlite3_close(nullptr) is a no-op)
  if (rc != SQLITE_OK) return fail(error_of(raw, rc, "open " + path));
  for (const auto& p : options.pragmas) {
    // Some pragmas answer with a row (journal_mode, locking_mode): step through them.
    std::string sql = "PRAGMA ";
    sql += p;
    auto st = db.prepare(sql);
    if (!st) return fail(st.error());
    auto row = st->step();
    if (!row) return fail(row.error());
    // journal_mode answers with the mode it got: a VFS or file that cannot do WAL says
    // "delete" or "memory" instead of failing.
    if (*row && p.rfind("journal_mode=", 0) == 0) {
      const std::string got = ascii_lower(st->column_text(0));
      const std::string want = ascii_lower(std::string_view(p).substr(13));
      if (got != want) return fail(Errc::unsupported, std::string("sqlite: journal_mode is ").append(got).append(", not ").append(want));
    }
    while (*row) {
      row = st->step();
      if (!row) return fail(row.error());
    }
  }
  return db;
}

Db::Db(::sqlite3* db) noexcept : db_(db), cache_(new StatementCache()) {}

Db::Db(Db&& o) noexcept : db_(std::exchange(o.db_, nullptr)), cache_(std::exchange(o.cache_, nullptr)) {}

Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    close();
    db_ = std::exchange(o.db_, nullptr);
    cache_ = std::exchange(o.cache_, nullptr);
  }
  return *this;
}

Db::~Db() { close(); }

void Db::close() noexcept {
  delete std::exchange(cache_, nullptr);  // finalizes the free statements first
  sqlite3_close_v2(std::exchange(db_, nullptr));
}

Status Db::exec(std::string_view sql) {
  MAIL_ASSERT(db_ != nullptr);
  const std::string s(sql);  // sqlite3_exec wants a terminated string
  char* msg = nullptr;
  const int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &msg);
  sqlite3_free(msg);  // the same text as sqlite3_errmsg
  if (rc != SQLITE_OK) return fail(error_of(db_, rc, "exec"));
  return {};
}

Result<Statement> Db::prepare(std::string_view sql) {
  MAIL_ASSERT(db_ != nullptr && cache_ != nullptr);
  if (::sqlite3_stmt* cached = cache_->take(sql)) return Statement(db_, cached, cache_);
  ::sqlite3_stmt* st = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &st, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(st);
    std::string what = "prepare \"";
    what.append(sql.substr(0, 80));
    what.append("\"");
    return fail(error_of(db_, rc, what));
  }
  MAIL_ASSERT(st != nullptr && "prepare of an empty statement");
  return Statement(db_, st, cache_);
}

Status Db::run(std::string_view sql) {
  auto st = prepare(sql);
  if (!st) return fail(st.error());
  return st->run();
}

Result<std::int64_t> Db::query_int64(std::string_view sql) {
  auto st = prepare(sql);
  if (!st) return fail(st.error());
  auto row = st->step();
  if (!row) return fail(row.error());
  if (!*row) return fail(Errc::not_found, "sqlite: no row");
  return st->column_int64(0);
}

Result<std::string> Db::query_text(std::string_view sql) {
  auto st = prepare(sql);
  if (!st) return fail(st.error());
  auto row = st->step();
  if (!row) return fail(row.error());
  if (!*row) return fail(Errc::not_found, "sqlite: no row");
  return std::string(st->column_text(0));
}

std::int64_t Db::last_insert_rowid() const noexcept { return sqlite3_last_insert_rowid(db_); }
std::int64_t Db::changes() const noexcept { return sqlite3_changes64(db_); }
bool Db::in_transaction() const noexcept { return sqlite3_get_autocommit(db_) == 0; }

// ============================================================================ Transaction

Result<Transaction> Transaction::begin(Db& db) {
  if (auto s = db.run("BEGIN IMMEDIATE"); !s) return fail(s.error());
  return Transaction(db);
}

Transaction::~Transaction() {
  if (db_ == nullptr || !db_->in_transaction()) return;
  // An error here leaves SQLite to roll back at close; nothing better to do in a destructor.
  (void)db_->run("ROLLBACK");
}

Status Transaction::commit() {
  MAIL_ASSERT(db_ != nullptr);
  Db* db = std::exchange(db_, nullptr);
  if (auto s = db->run("COMMIT"); !s) {
    if (db->in_transaction()) (void)db->run("ROLLBACK");
    return s;
  }
  return {};
}

}  // namespace mail::store::sqlite
