// AccountDb: see account_db.h. Every mutating call is one BEGIN IMMEDIATE transaction;
// with synchronous=FULL (DbOptions::default_pragmas) its commit is durable when it returns.
#include "store/index/account_db.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "store/index/folder_layout.h"
#include "store/index/schema.h"

namespace mail::store::index {
namespace {

std::string to_text(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}
std::span<const std::byte> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

#define TRY_STATUS(expr)                  \
  do {                                    \
    Status s_ = (expr);                   \
    if (!s_.ok()) return fail(s_.error()); \
  } while (0)

Result<std::int64_t> meta_get(sqlite::Db& db, std::string_view key) {
  auto st = db.prepare("SELECT value FROM meta WHERE key = ?1");
  if (!st) return fail(st.error());
  st->bind(1, key);
  auto row = st->step();
  if (!row) return fail(row.error());
  if (!*row) return fail(Errc::not_found, "meta key missing");
  return st->column_int64(0);
}

Status meta_set(sqlite::Db& db, std::string_view key, std::int64_t value) {
  auto st = db.prepare("INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  if (!st) return fail(st.error());
  st->bind(1, key).bind(2, value);
  return st->run();
}

constexpr std::string_view kFolderColumns =
    "id, name, disk_dir, uidvalidity, uidnext, highestmodseq, horizon_modseq, special_use, renamed_from, recent_uid";

FolderRow folder_of(const sqlite::Statement& st) {
  FolderRow f;
  f.id = st.column_int64(0);
  f.name = std::string(st.column_text(1));
  f.dir = std::string(st.column_text(2));
  f.counters.uidvalidity = static_cast<std::uint32_t>(st.column_int64(3));
  f.counters.uidnext = static_cast<std::uint32_t>(st.column_int64(4));
  f.counters.highestmodseq = static_cast<std::uint64_t>(st.column_int64(5));
  f.counters.horizon_modseq = static_cast<std::uint64_t>(st.column_int64(6));
  f.special_use = static_cast<SpecialUse>(st.column_int64(7));
  if (!st.column_is_null(8)) f.renamed_from = std::string(st.column_text(8));
  f.recent_uid = static_cast<std::uint32_t>(std::max<std::int64_t>(1, st.column_int64(9)));
  return f;
}

Result<FolderRow> folder_by_id(sqlite::Db& db, std::int64_t id) {
  std::string sql = "SELECT ";
  sql += kFolderColumns;
  sql += " FROM folders WHERE id = ?1";
  auto st = db.prepare(sql);
  if (!st) return fail(st.error());
  st->bind(1, id);
  auto row = st->step();
  if (!row) return fail(row.error());
  if (!*row) return fail(Errc::not_found, "no such folder");
  return folder_of(*st);
}

Status set_folder_modseq(sqlite::Db& db, std::int64_t id, std::uint64_t modseq) {
  auto st = db.prepare("UPDATE folders SET highestmodseq = ?2 WHERE id = ?1");
  if (!st) return fail(st.error());
  st->bind(1, id).bind(2, static_cast<std::int64_t>(modseq));
  return st->run();
}

// The FTS5 string literal of a term: double quotes, inner quotes doubled.
std::string fts_quote(std::string_view term) {
  std::string out = "\"";
  for (char c : term) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

std::string join_keywords(const std::vector<std::string>& keywords) {
  std::string out;
  for (const auto& k : keywords) {
    MAIL_ASSERT(!k.empty());
    MAIL_ASSERT(k.find(' ') == std::string::npos);
    if (!out.empty()) out += ' ';
    out += k;
  }
  return out;
}

std::vector<std::string> split_keywords(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto sp = text.find(' ');
    if (sp != 0) out.emplace_back(text.substr(0, sp));
    if (sp == std::string_view::npos) break;
    text.remove_prefix(sp + 1);
  }
  return out;
}

Result<std::unique_ptr<AccountDb>> AccountDb::open(const std::string& path, const std::string& vfs,
                                                   std::uint32_t* uidvalidity_floor) {
  MAIL_ASSERT(uidvalidity_floor != nullptr);
  *uidvalidity_floor = 0;
  sqlite::DbOptions options;
  options.vfs = vfs;
  // Errc::invalid (the caller moves the index aside and rebuilds it, with new UIDVALIDITYs)
  // only for evidence of damage: SQLITE_CORRUPT or NOTADB, a failed integrity check, a
  // schema that is not ours. An I/O error, no space or a missing file is returned as it
  // is: a read that failed once may succeed at the next open, and an index thrown away for
  // it would make every client resynchronise every folder (found by fuzz/sim_world: one
  // EIO reading the WAL after a crash changed INBOX's UIDVALIDITY).
  auto with_context = [](const Error& e, const std::string& what) -> Error {
    return Error{e.code, what + ": " + e.detail};
  };
  auto db = sqlite::Db::open(path, options);
  if (!db) return fail(with_context(db.error(), "index open"));
  // Whatever UIDVALIDITY a readable old index had: a rebuild must go above it.
  if (auto last = db->query_int64("SELECT max(value) FROM meta WHERE key = 'uidvalidity_last'"); last.ok()) {
    *uidvalidity_floor = static_cast<std::uint32_t>(std::max<std::int64_t>(0, *last));
  }
  if (auto m = db->query_int64("SELECT max(uidvalidity) FROM folders"); m.ok()) {
    *uidvalidity_floor = std::max(*uidvalidity_floor, static_cast<std::uint32_t>(std::max<std::int64_t>(0, *m)));
  }
  auto tables = db->query_int64("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'");
  if (!tables) return fail(with_context(tables.error(), "index unreadable"));
  if (*tables == 0) {
    // A new database (or an empty file): create the schema.
    auto any = db->query_int64("SELECT count(*) FROM sqlite_master");
    if (!any) return fail(with_context(any.error(), "index unreadable"));
    if (*any != 0) return fail(Errc::invalid, "index has tables but no meta");
    auto tx = sqlite::Transaction::begin(*db);
    if (!tx) return fail(tx.error());
    TRY_STATUS(db->exec(schema_sql()));
    TRY_STATUS(meta_set(*db, "schema_version", kSchemaVersion));
    TRY_STATUS(meta_set(*db, "modseq", 0));
    TRY_STATUS(meta_set(*db, "uidvalidity_last", 0));
    TRY_STATUS(tx->commit());
  }
  auto check = db->query_text("PRAGMA integrity_check");
  if (!check) return fail(with_context(check.error(), "integrity_check"));
  if (*check != "ok") return fail(Errc::invalid, "integrity_check: " + *check);
  auto version = meta_get(*db, "schema_version");
  if (!version) {
    if (version.code() == Errc::not_found) return fail(Errc::invalid, "no schema version");
    return fail(with_context(version.error(), "schema version"));
  }
  while (*version < kSchemaVersion) {
    const auto m = migrations();
    if (static_cast<std::size_t>(*version) > m.size() || *version < 1) {
      return fail(Errc::invalid, "no migration from schema version " + std::to_string(*version));
    }
    auto tx = sqlite::Transaction::begin(*db);
    if (!tx) return fail(tx.error());
    TRY_STATUS(db->exec(m[static_cast<std::size_t>(*version - 1)]));
    TRY_STATUS(meta_set(*db, "schema_version", *version + 1));
    TRY_STATUS(tx->commit());
    *version += 1;
  }
  if (*version != kSchemaVersion) return fail(Errc::invalid, "unknown schema version " + std::to_string(*version));
  return std::unique_ptr<AccountDb>(new AccountDb(std::move(*db)));
}

AccountDb::~AccountDb() = default;

Result<std::uint64_t> AccountDb::next_modseq() {
  MAIL_ASSERT(db_.in_transaction());
  // Prepared once: parsing the two statements for every message was most of the CPU of a
  // STORE 1:* (bench/imap).
  if (!modseq_get_) {
    auto get = db_.prepare("SELECT value FROM meta WHERE key = 'modseq'");
    if (!get) return fail(get.error());
    auto set = db_.prepare("UPDATE meta SET value = ?1 WHERE key = 'modseq'");
    if (!set) return fail(set.error());
    modseq_get_ = std::move(*get);
    modseq_set_ = std::move(*set);
  }
  modseq_get_.reset();
  auto row = modseq_get_.step();
  if (!row) return fail(row.error());
  if (!*row) return fail(Errc::not_found, "meta key missing");
  const std::int64_t next = modseq_get_.column_int64(0) + 1;
  modseq_get_.reset();
  modseq_set_.reset();
  modseq_set_.bind(1, next);
  TRY_STATUS(modseq_set_.run());
  return static_cast<std::uint64_t>(next);
}

Result<std::uint64_t> AccountDb::modseq() {
  auto v = meta_get(db_, "modseq");
  if (!v) return fail(v.error());
  return static_cast<std::uint64_t>(*v);
}

Result<std::vector<FolderRow>> AccountDb::folders() {
  std::string sql = "SELECT ";
  sql += kFolderColumns;
  sql += " FROM folders ORDER BY name";
  auto st = db_.prepare(sql);
  if (!st) return fail(st.error());
  std::vector<FolderRow> out;
  while (true) {
    auto row = st->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    out.push_back(folder_of(*st));
  }
  return out;
}

Result<std::vector<std::string>> AccountDb::subscriptions() {
  auto st = db_.prepare("SELECT name FROM subscriptions ORDER BY name");
  if (!st) return fail(st.error());
  std::vector<std::string> out;
  while (true) {
    auto row = st->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    out.emplace_back(st->column_text(0));
  }
  return out;
}

Result<QuotaUsage> AccountDb::usage() {
  auto st = db_.prepare("SELECT count(*), coalesce(sum(size), 0) FROM messages");
  if (!st) return fail(st.error());
  auto row = st->step();
  if (!row) return fail(row.error());
  MAIL_ASSERT(*row);
  QuotaUsage u;
  u.messages = static_cast<std::uint64_t>(st->column_int64(0));
  u.bytes_used = static_cast<std::uint64_t>(st->column_int64(1));
  return u;
}

Result<std::vector<FolderRow>> AccountDb::create_folders(std::vector<NewFolder> folders, std::uint32_t now_seconds,
                                                         std::uint32_t floor, bool subscribe) {
  auto tx = sqlite::Transaction::begin(db_);
  if (!tx) return fail(tx.error());
  auto last = meta_get(db_, "uidvalidity_last");
  if (!last) return fail(last.error());
  std::uint32_t uidvalidity = static_cast<std::uint32_t>(*last);
  auto ins = db_.prepare(
      "INSERT INTO folders(name, disk_dir, uidvalidity, uidnext, highestmodseq, special_use) VALUES (?1, ?2, ?3, 1, 0, ?4)");
  if (!ins) return fail(ins.error());
  auto sub = db_.prepare("INSERT OR IGNORE INTO subscriptions(name) VALUES (?1)");
  if (!sub) return fail(sub.error());
  std::vector<FolderRow> out;
  for (auto& f : folders) {
    // RFC 9051 §2.3.1.1: a folder recreated under an old name must get a new UIDVALIDITY.
    uidvalidity = std::max({uidvalidity + 1, now_seconds, floor + 1});
    MAIL_ASSERT(uidvalidity > 0);
    ins->reset();
    ins->bind(1, f.name).bind(2, f.dir).bind(3, static_cast<std::int64_t>(uidvalidity));
    ins->bind(4, static_cast<std::int64_t>(f.special_use));
    TRY_STATUS(ins->run());
    FolderRow row;
    row.id = db_.last_insert_rowid();
    row.name = std::move(f.name);
    row.dir = std::move(f.dir);
    row.counters.uidvalidity = uidvalidity;
    row.special_use = f.special_use;
    if (subscribe) {
      sub->reset();
      sub->bind(1, row.name);
      TRY_STATUS(sub->run());
    }
    out.push_back(std::move(row));
  }
  TRY_STATUS(meta_set(db_, "uidvalidity_last", uidvalidity));
  TRY_STATUS(tx->commit());
  return out;
}

Status AccountDb::delete_folder(std::int64_t id) {
  auto tx = sqlite::Transaction::begin(db_);
  if (!tx) return fail(tx.error());
  {
    auto st = db_.prepare("DELETE FROM texts WHERE rowid IN (SELECT id FROM messages WHERE folder_id = ?1)");
    if (!st) return fail(st.error());
    st->bind(1, id);
    TRY_STATUS(st->run());
  }
  auto st = db_.prepare("DELETE FROM folders WHERE id = ?1");
  if (!st) return fail(st.error());
  st->bind(1, id);
  TRY_STATUS(st->run());
  return tx->commit();
}

Result<std::uint64_t> AccountDb::rename_folders(std::vector<FolderRow> renamed) {
  auto tx = sqlite::Transaction::begin(db_);
  if (!tx) return fail(tx.error());
  auto modseq = next_modseq();
  if (!modseq) return fail(modseq.error());
  // Two passes so names and dirs swapping among the renamed folders never collide with
  // the UNIQUE constraints mid-way.
  auto tmp = db_.prepare("UPDATE folders SET name = '\x01' || id, disk_dir = '\x01' || id WHERE id = ?1");
  if (!tmp) return fail(tmp.error());
  for (const auto& f : renamed) {
    tmp->reset();
    tmp->bind(1, f.id);
    TRY_STATUS(tmp->run());
  }
  auto st = db_.prepare("UPDATE folders SET name = ?2, disk_dir = ?3, renamed_from = ?4, highestmodseq = ?5 WHERE id = ?1");
  if (!st) return fail(st.error());
  for (const auto& f : renamed) {
    MAIL_ASSERT(f.renamed_from.has_value());
    st->reset();
    st->bind(1, f.id).bind(2, f.name).bind(3, f.dir).bind(4, *f.renamed_from).bind(5, static_cast<std::int64_t>(*modseq));
    TRY_STATUS(st->run());
  }
  TRY_STATUS(tx->commit());
  return *modseq;
}

Status AccountDb::clear_renamed(std::vector<std::int64_t> ids) {
  auto tx = sqlite::Transaction::begin(db_);
  if (!tx) return fail(tx.error());
  auto st = db_.prepare("UPDATE folders SET renamed_from = NULL WHERE id = ?1");
  if (!st) return fail(st.error());
  for (auto id : ids) {
    st->reset();
    st->bind(1, id);
    TRY_STATUS(st->run());
  }
  return tx->commit();
}

Status AccountDb::set_recent_uid(std::int64_t folder_id, std::uint32_t recent_uid) {
  auto st = db_.prepare("UPDATE folders SET recent_uid = ?2 WHERE id = ?1");
  if (!st) return fail(st.error());
  st->bind(1, folder_id).bind(2, static_cast<std::int64_t>(recent_uid));
  return st->run();
}

Status AccountDb::set_subscribed(const std::string& name, bool subscribed) {
  auto st = db_.prepare(subscribed ? "INSERT OR IGNORE INTO subscriptions(name) VALUES (?1)"
                                   : "DELETE FROM subscriptions WHERE name = ?1");
  if (!st) return fail(st.error());
  st->bind(1, name);
  return st->run();
}

Result<FolderContents> AccountDb::load_folder(std::int64_t id) {
  FolderContents out;
  auto st = db_.prepare(
      "SELECT uid, modseq, created_modseq, system_flags, keywords, internal_date, size, file, content_id"
      " FROM messages WHERE folder_id = ?1 ORDER BY uid");
  if (!st) return fail(st.error());
  st->bind(1, id);
  while (true) {
    auto row = st->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    CachedMessage m;
    m.info.uid = static_cast<std::uint32_t>(st->column_int64(0));
    m.info.modseq = static_cast<std::uint64_t>(st->column_int64(1));
    m.created_modseq = static_cast<std::uint64_t>(st->column_int64(2));
    m.info.flags.system = static_cast<std::uint8_t>(st->column_int64(3));
    m.info.flags.keywords = split_keywords(st->column_text(4));
    m.info.internal_date = st->column_int64(5);
    m.info.size = static_cast<std::uint64_t>(st->column_int64(6));
    m.file = std::string(st->column_text(7));
    m.info.content_id = std::string(st->column_text(8));
    out.messages.push_back(std::move(m));
  }
  auto ts = db_.prepare("SELECT uid, modseq, content_id FROM expunged WHERE folder_id = ?1 ORDER BY modseq");
  if (!ts) return fail(ts.error());
  ts->bind(1, id);
  while (true) {
    auto row = ts->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    out.tombstones.push_back(Tombstone{static_cast<std::uint32_t>(ts->column_int64(0)),
                                       static_cast<std::uint64_t>(ts->column_int64(1)),
                                       std::string(ts->column_text(2))});
  }
  return out;
}

Result<std::vector<CachedMessage>> AccountDb::add_messages(std::int64_t folder_id, std::vector<NewMessage> messages,
                                                          FolderCounters* after) {
  MAIL_ASSERT(after != nullptr);
  auto tx = sqlite::Transaction::begin(db_);
  if (!tx) return fail(tx.error());
  auto folder = folder_by_id(db_, folder_id);
  if (!folder) return fail(folder.error());
  std::uint32_t uidnext = folder->counters.uidnext;
  std::uint64_t modseq = 0;
  auto find = db_.prepare("SELECT uid, created_modseq, internal_date, size, file, content_id, modseq, system_flags,"
                          " keywords FROM messages WHERE folder_id = ?1 AND base = ?2");
  if (!find) return fail(find.error());
  auto ins = db_.prepare(
      "INSERT INTO messages(folder_id, uid, modseq, created_modseq, system_flags, keywords, internal_date, size, file,"
      " base, content_id, headers) VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
  if (!ins) return fail(ins.error());
  auto upd = db_.prepare("UPDATE messages SET modseq = ?3, system_flags = ?4, keywords = ?5 WHERE folder_id = ?1 AND uid = ?2");
  if (!upd) return fail(upd.error());
  auto txt = db_.prepare("INSERT INTO texts(rowid, hdr, body) VALUES (?1, ?2, ?3)");
  if (!txt) return fail(txt.error());
  std::vector<CachedMessage> out;
  for (auto& m : messages) {
    const std::string base(maildir_base_name(std::string_view(m.file).substr(m.file.find('/') + 1)));
    find->reset();
    find->bind(1, folder_id).bind(2, base);
    auto row = find->step();
    if (!row) return fail(row.error());
    CachedMessage c;
    c.info.flags = m.flags;
    if (*row) {
      // A rescan indexed this file before its writer's commit: keep that uid, apply the
      // writer's flags as a change (none when they are the flags it already has).
      c.info.uid = static_cast<std::uint32_t>(find->column_int64(0));
      c.created_modseq = static_cast<std::uint64_t>(find->column_int64(1));
      c.info.internal_date = find->column_int64(2);
      c.info.size = static_cast<std::uint64_t>(find->column_int64(3));
      c.file = std::string(find->column_text(4));
      c.info.content_id = std::string(find->column_text(5));
      Flags have;
      have.system = static_cast<std::uint8_t>(find->column_int64(7));
      have.keywords = split_keywords(find->column_text(8));
      if (have == m.flags) {
        c.info.modseq = static_cast<std::uint64_t>(find->column_int64(6));
        out.push_back(std::move(c));
        continue;
      }
      auto next = next_modseq();
      if (!next) return fail(next.error());
      modseq = *next;
      c.info.modseq = modseq;
      upd->reset();
      upd->bind(1, folder_id).bind(2, static_cast<std::int64_t>(c.info.uid)).bind(3, static_cast<std::int64_t>(modseq));
      upd->bind(4, static_cast<std::int64_t>(m.flags.system)).bind(5, join_keywords(m.flags.keywords));
      TRY_STATUS(upd->run());
    } else {
      auto next = next_modseq();
      if (!next) return fail(next.error());
      modseq = *next;
      c.info.modseq = modseq;
      MAIL_ASSERT(uidnext < UINT32_MAX);
      c.info.uid = uidnext++;
      c.created_modseq = modseq;
      c.info.internal_date = m.internal_date;
      c.info.size = m.size;
      c.file = m.file;
      c.info.content_id = m.content_id;
      ins->reset();
      ins->bind(1, folder_id).bind(2, static_cast<std::int64_t>(c.info.uid)).bind(3, static_cast<std::int64_t>(modseq));
      ins->bind(4, static_cast<std::int64_t>(m.flags.system)).bind(5, join_keywords(m.flags.keywords));
      ins->bind(6, m.internal_date).bind(7, static_cast<std::int64_t>(m.size)).bind(8, m.file).bind(9, base);
      ins->bind(10, m.content_id).bind_blob(11, as_bytes(m.headers));
      TRY_STATUS(ins->run());
      txt->reset();
      txt->bind(1, db_.last_insert_rowid()).bind(2, m.text_hdr).bind(3, m.text_body);
      TRY_STATUS(txt->run());
    }
    out.push_back(std::move(c));
  }
  auto st = db_.prepare("UPDATE folders SET uidnext = ?2, highestmodseq = ?3 WHERE id = ?1");
  if (!st) return fail(st.error());
  const std::uint64_t highest = modseq != 0 ? modseq : folder->counters.highestmodseq;
  st->bind(1, folder_id).bind(2, static_cast<std::int64_t>(uidnext)).bind(3, static_cast<std::int64_t>(highest));
  TRY_STATUS(st->run());
  TRY_STATUS(tx->commit());
  *after = folder->counters;
  after->uidnext = uidnext;
  after->highestmodseq = highest;
  return out;
}

Result<std::vector<CachedMessage>> AccountDb::copy_messages(std::int64_t from_id,
                                                           const std::vector<std::uint32_t>& from_uids,
                                                           std::int64_t to_id, std::vector<NewMessage> messages,
                                                           FolderCounters* after) {
  MAIL_ASSERT(after != nullptr);
  MAIL_ASSERT(from_uids.size() == messages.size());
  auto tx = sqlite::Transaction::begin(db_);
  if (!tx) return fail(tx.error());
  auto folder = folder_by_id(db_, to_id);
  if (!folder) return fail(folder.error());
  std::uint32_t uidnext = folder->counters.uidnext;
  std::uint64_t modseq = folder->counters.highestmodseq;
  auto ins = db_.prepare(
      "INSERT INTO messages(folder_id, uid, modseq, created_modseq, system_flags, keywords, internal_date, size, file,"
      " base, content_id, headers) SELECT ?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, headers FROM messages"
      " WHERE folder_id = ?11 AND uid = ?12");
  if (!ins) return fail(ins.error());
  auto txt = db_.prepare(
      "INSERT INTO texts(rowid, hdr, body) SELECT ?1, hdr, body FROM texts"
      " WHERE rowid = (SELECT id FROM messages WHERE folder_id = ?2 AND uid = ?3)");
  if (!txt) return fail(txt.error());
  std::vector<CachedMessage> out;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    NewMessage& m = messages[i];
    auto next = next_modseq();
    if (!next) return fail(next.error());
    modseq = *next;
    MAIL_ASSERT(uidnext < UINT32_MAX);
    CachedMessage c;
    c.info.uid = uidnext++;
    c.info.modseq = modseq;
    c.created_modseq = modseq;
    c.info.flags = m.flags;
    c.info.internal_date = m.internal_date;
    c.info.size = m.size;
    c.info.content_id = m.content_id;
    c.file = m.file;
    const std::string base(maildir_base_name(std::string_view(m.file).substr(m.file.find('/') + 1)));
    ins->reset();
    ins->bind(1, to_id).bind(2, static_cast<std::int64_t>(c.info.uid)).bind(3, static_cast<std::int64_t>(modseq));
    ins->bind(4, static_cast<std::int64_t>(m.flags.system)).bind(5, join_keywords(m.flags.keywords));
    ins->bind(6, m.internal_date).bind(7, static_cast<std::int64_t>(m.size)).bind(8, m.file).bind(9, base);
    ins->bind(10, m.content_id).bind(11, from_id).bind(12, static_cast<std::int64_t>(from_uids[i]));
    TRY_STATUS(ins->run());
    if (db_.changes() != 1) return fail(Errc::not_found, "copy source row missing");
    txt->reset();
    txt->bind(1, db_.last_insert_rowid()).bind(2, from_id).bind(3, static_cast<std::int64_t>(from_uids[i]));
    TRY_STATUS(txt->run());
    out.push_back(std::move(c));
  }
  auto st = db_.prepare("UPDATE folders SET uidnext = ?2, highestmodseq = ?3 WHERE id = ?1");
  if (!st) return fail(st.error());
  st->bind(1, to_id).bind(2, static_cast<std::int64_t>(uidnext)).bind(3, static_cast<std::int64_t>(modseq));
  TRY_STATUS(st->run());
  TRY_STATUS(tx->commit());
  *after = folder->counters;
  after->uidnext = uidnext;
  after->highestmodseq = modseq;
  return out;
}

Result<std::vector<Tombstone>> AccountDb::set_flags(std::int64_t folder_id,
                                                    std::vector<std::pair<std::uint32_t, Flags>> changes) {
  auto tx = sqlite::Transaction::begin(db_);
  if (!tx) return fail(tx.error());
  auto upd = db_.prepare("UPDATE messages SET modseq = ?3, system_flags = ?4, keywords = ?5 WHERE folder_id = ?1 AND uid = ?2");
  if (!upd) return fail(upd.error());
  std::vector<Tombstone> out;  // (uid, modseq)
  std::uint64_t last = 0;
  for (auto& [uid, flags] : changes) {
    auto modseq = next_modseq();
    if (!modseq) return fail(modseq.error());
    upd->reset();
    upd->bind(1, folder_id).bind(2, static_cast<std::int64_t>(uid)).bind(3, static_cast<std::int64_t>(*modseq));
    upd->bind(4, static_cast<std::int64_t>(flags.system)).bind(5, join_keywords(flags.keywords));
    TRY_STATUS(upd->run());
    if (db_.changes() == 0) continue;  // the counter moved on for nothing: harmless gap
    out.push_back(Tombstone{uid, *modseq, {}});
    last = *modseq;
  }
  if (last != 0) TRY_STATUS(set_folder_modseq(db_, folder_id, last));
  TRY_STATUS(tx->commit());
  return out;
}

namespace {

Status forget_pending(sqlite::Db& db, const std::vector<PendingUnlink>& unlinked) {
  if (unlinked.empty()) return Status{};
  auto st = db.prepare("DELETE FROM pending_unlink WHERE folder_id = ?1 AND file = ?2");
  if (!st) return fail(st.error());
  for (const auto& p : unlinked) {
    st->reset();
    st->bind(1, p.folder_id).bind(2, p.file);
    TRY_STATUS(st->run());
  }
  return Status{};
}

}  // namespace

Result<ExpungeOutcome> AccountDb::expunge(std::int64_t folder_id, std::vector<std::uint32_t> uids,
                                          std::uint32_t tombstones_max, const std::vector<std::string>& unlink_files,
                                          const std::vector<PendingUnlink>& unlinked) {
  auto tx = sqlite::Transaction::begin(db_);
  if (!tx) return fail(tx.error());
  TRY_STATUS(forget_pending(db_, unlinked));
  if (!unlink_files.empty()) {
    auto pend = db_.prepare("INSERT OR IGNORE INTO pending_unlink(folder_id, file) VALUES (?1, ?2)");
    if (!pend) return fail(pend.error());
    for (const auto& f : unlink_files) {
      pend->reset();
      pend->bind(1, folder_id).bind(2, f);
      TRY_STATUS(pend->run());
    }
  }
  auto folder = folder_by_id(db_, folder_id);
  if (!folder) return fail(folder.error());
  auto sel = db_.prepare("SELECT id, content_id FROM messages WHERE folder_id = ?1 AND uid = ?2");
  if (!sel) return fail(sel.error());
  auto del = db_.prepare("DELETE FROM messages WHERE id = ?1");
  if (!del) return fail(del.error());
  auto deltxt = db_.prepare("DELETE FROM texts WHERE rowid = ?1");
  if (!deltxt) return fail(deltxt.error());
  auto tomb = db_.prepare("INSERT OR REPLACE INTO expunged(folder_id, uid, modseq, content_id) VALUES (?1, ?2, ?3, ?4)");
  if (!tomb) return fail(tomb.error());
  ExpungeOutcome out;
  out.horizon_modseq = folder->counters.horizon_modseq;
  std::sort(uids.begin(), uids.end());
  uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
  std::uint64_t last = 0;
  for (auto uid : uids) {
    sel->reset();
    sel->bind(1, folder_id).bind(2, static_cast<std::int64_t>(uid));
    auto row = sel->step();
    if (!row) return fail(row.error());
    if (!*row) continue;
    const std::int64_t rowid = sel->column_int64(0);
    std::string content_id(sel->column_text(1));
    auto modseq = next_modseq();
    if (!modseq) return fail(modseq.error());
    del->reset();
    del->bind(1, rowid);
    TRY_STATUS(del->run());
    deltxt->reset();
    deltxt->bind(1, rowid);
    TRY_STATUS(deltxt->run());
    tomb->reset();
    tomb->bind(1, folder_id).bind(2, static_cast<std::int64_t>(uid)).bind(3, static_cast<std::int64_t>(*modseq));
    tomb->bind(4, content_id);
    TRY_STATUS(tomb->run());
    out.removed.push_back(Tombstone{uid, *modseq, std::move(content_id)});
    last = *modseq;
  }
  if (last != 0) {
    TRY_STATUS(set_folder_modseq(db_, folder_id, last));
    // Keep the newest tombstones_max; the horizon is the newest one dropped.
    auto count = db_.prepare("SELECT count(*) FROM expunged WHERE folder_id = ?1");
    if (!count) return fail(count.error());
    count->bind(1, folder_id);
    auto crow = count->step();
    if (!crow) return fail(crow.error());
    const std::int64_t n = count->column_int64(0);
    if (n > static_cast<std::int64_t>(tombstones_max)) {
      auto cut = db_.prepare("SELECT modseq FROM expunged WHERE folder_id = ?1 ORDER BY modseq LIMIT 1 OFFSET ?2");
      if (!cut) return fail(cut.error());
      cut->bind(1, folder_id).bind(2, n - static_cast<std::int64_t>(tombstones_max) - 1);
      auto r = cut->step();
      if (!r) return fail(r.error());
      MAIL_ASSERT(*r);
      const std::int64_t horizon = cut->column_int64(0);
      cut->reset();
      auto drop = db_.prepare("DELETE FROM expunged WHERE folder_id = ?1 AND modseq <= ?2");
      if (!drop) return fail(drop.error());
      drop->bind(1, folder_id).bind(2, horizon);
      TRY_STATUS(drop->run());
      auto hz = db_.prepare("UPDATE folders SET horizon_modseq = ?2 WHERE id = ?1");
      if (!hz) return fail(hz.error());
      hz->bind(1, folder_id).bind(2, horizon);
      TRY_STATUS(hz->run());
      out.horizon_modseq = static_cast<std::uint64_t>(horizon);
    }
  }
  TRY_STATUS(tx->commit());
  return out;
}

Result<std::vector<PendingUnlink>> AccountDb::pending_unlinks() {
  auto st = db_.prepare("SELECT folder_id, file FROM pending_unlink ORDER BY folder_id, file");
  if (!st) return fail(st.error());
  std::vector<PendingUnlink> out;
  while (true) {
    auto row = st->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    out.push_back(PendingUnlink{st->column_int64(0), std::string(st->column_text(1))});
  }
  return out;
}

Status AccountDb::clear_pending_unlinks(const std::vector<PendingUnlink>& unlinked) {
  if (unlinked.empty()) return Status{};
  auto tx = sqlite::Transaction::begin(db_);
  if (!tx) return fail(tx.error());
  TRY_STATUS(forget_pending(db_, unlinked));
  return tx->commit();
}

Status AccountDb::set_files(std::int64_t folder_id, std::vector<std::pair<std::uint32_t, std::string>> files) {
  auto tx = sqlite::Transaction::begin(db_);
  if (!tx) return fail(tx.error());
  auto st = db_.prepare("UPDATE messages SET file = ?3 WHERE folder_id = ?1 AND uid = ?2");
  if (!st) return fail(st.error());
  for (auto& [uid, file] : files) {
    st->reset();
    st->bind(1, folder_id).bind(2, static_cast<std::int64_t>(uid)).bind(3, file);
    TRY_STATUS(st->run());
  }
  return tx->commit();
}

Result<std::vector<std::string>> AccountDb::read_headers(std::int64_t folder_id, const std::vector<std::uint32_t>& uids) {
  auto st = db_.prepare("SELECT headers FROM messages WHERE folder_id = ?1 AND uid = ?2");
  if (!st) return fail(st.error());
  std::vector<std::string> out;
  out.reserve(uids.size());
  for (auto uid : uids) {
    st->reset();
    st->bind(1, folder_id).bind(2, static_cast<std::int64_t>(uid));
    auto row = st->step();
    if (!row) return fail(row.error());
    out.push_back(*row ? to_text(st->column_blob(0)) : std::string());
  }
  return out;
}

std::string AccountDb::search_text_sql(bool with_match) {
  if (!with_match) return "SELECT uid FROM messages WHERE folder_id = ?1 ORDER BY uid";
  // CROSS JOIN keeps texts the outer loop (SQLite never reorders it): the MATCH runs once and
  // each hit is looked up by id. With a plain JOIN the planner walked the folder's messages
  // and ran the whole MATCH again for each (0.17 ms a message: 1.7 s for 10,000).
  return "SELECT m.uid FROM texts CROSS JOIN messages m ON m.id = texts.rowid"
         " WHERE texts MATCH ?2 AND m.folder_id = ?1 ORDER BY m.uid";
}

Result<std::vector<std::uint32_t>> AccountDb::search_text(std::int64_t folder_id, TextField field,
                                                          const std::vector<std::string>& terms) {
  // Trigram FTS matches substrings case-insensitively, for terms of 3 or more characters.
  std::string match;
  for (const auto& t : terms) {
    std::size_t chars = 0;
    for (char c : t) chars += (static_cast<unsigned char>(c) & 0xc0) != 0x80 ? 1 : 0;
    if (chars < 3) continue;
    if (!match.empty()) match += " AND ";
    if (field == TextField::body) match += "body : ";
    match += fts_quote(t);
  }
  auto st = db_.prepare(search_text_sql(!match.empty()));
  if (!st) return fail(st.error());
  st->bind(1, folder_id);
  if (!match.empty()) st->bind(2, match);
  std::vector<std::uint32_t> out;
  while (true) {
    auto row = st->step();
    if (!row) return fail(row.error());
    if (!*row) break;
    out.push_back(static_cast<std::uint32_t>(st->column_int64(0)));
  }
  return out;
}

}  // namespace mail::store::index
