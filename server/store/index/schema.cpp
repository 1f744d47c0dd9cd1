// The index schema's text (see schema.h). Every change of the layout bumps kSchemaVersion
// and appends the migration from the previous version.
#include "store/index/schema.h"

#include <iterator>

namespace mail::store::index {

std::string_view schema_sql() noexcept {
  return R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE folders(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  disk_dir TEXT NOT NULL UNIQUE,
  uidvalidity INTEGER NOT NULL,
  uidnext INTEGER NOT NULL,
  highestmodseq INTEGER NOT NULL,
  horizon_modseq INTEGER NOT NULL DEFAULT 0,
  special_use INTEGER NOT NULL DEFAULT 0,
  renamed_from TEXT,
  recent_uid INTEGER NOT NULL DEFAULT 1);
CREATE TABLE subscriptions(name TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE messages(
  id INTEGER PRIMARY KEY,
  folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
  uid INTEGER NOT NULL,
  modseq INTEGER NOT NULL,
  created_modseq INTEGER NOT NULL,
  system_flags INTEGER NOT NULL,
  keywords TEXT NOT NULL,
  internal_date INTEGER NOT NULL,
  size INTEGER NOT NULL,
  file TEXT NOT NULL,
  base TEXT NOT NULL,
  content_id TEXT NOT NULL,
  headers BLOB NOT NULL,
  UNIQUE(folder_id, uid),
  UNIQUE(folder_id, base));
CREATE TABLE expunged(
  folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
  uid INTEGER NOT NULL,
  modseq INTEGER NOT NULL,
  content_id TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(folder_id, uid)) WITHOUT ROWID;
CREATE INDEX expunged_by_modseq ON expunged(folder_id, modseq);
CREATE VIRTUAL TABLE texts USING fts5(hdr, body, tokenize='trigram');
CREATE TABLE pending_unlink(
  folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
  file TEXT NOT NULL,
  PRIMARY KEY(folder_id, file)) WITHOUT ROWID;

)sql";
}

std::span<const std::string_view> migrations() noexcept {
  static constexpr std::string_view kMigrations[] = {
      // 1 -> 2: the first uid no IMAP4rev1 SELECT has claimed as \Recent yet (RFC 3501
      // §2.3.2); an old folder's messages count as not yet claimed.
      "ALTER TABLE folders ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 1;",
      // 2 -> 3: files of committed expunges not yet unlinked durably (the expunge commits
      // first, then unlinks: RFC 1939 §6 UPDATE is all-or-none on any file system).
      "CREATE TABLE pending_unlink(folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,"
      " file TEXT NOT NULL, PRIMARY KEY(folder_id, file)) WITHOUT ROWID;",
      // 3 -> 4: a tombstone names the expunged message's content id (JMAP Email/changes,
      // RFC 8620 §5.2, lists it as destroyed); older tombstones do not know it ('').
      "ALTER TABLE expunged ADD COLUMN content_id TEXT NOT NULL DEFAULT '';",
  };
  static_assert(std::size(kMigrations) == kSchemaVersion - 1);
  return kMigrations;
}

}  // namespace mail::store::index
