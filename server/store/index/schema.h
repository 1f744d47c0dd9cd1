// The per-account index database's schema (SQLite): the table definitions, the schema
// version and the migrations from older versions. Text only; account_db.cpp runs it.
// Layout (one database per account, <data_dir>/mail/<user>/index.sqlite):
//   meta(key, value)        schema_version, modseq (the account's MODSEQ counter, RFC 7162),
//                           uidvalidity_last (the greatest UIDVALIDITY ever handed out)
//   folders                 one row per folder: name (UTF-8, '/'), disk_dir (".A.B"; "" for
//                           INBOX), UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, the expunge
//                           horizon, special use, renamed_from (a rename not yet done on disk),
//                           recent_uid (the first uid no IMAP4rev1 SELECT claimed as \Recent)
//   subscriptions(name)     RFC 9051 §6.3.7: may name folders that do not exist
//   messages                one row per message: uid, modseq, created_modseq, flags, date,
//                           size, file (relative to the FOLDER's directory: "new/<n>",
//                           "cur/<n>:2,S", so renaming a folder touches no message row),
//                           base (the unique Maildir name, for rescans), content_id, headers
//   expunged                tombstones (folder, uid, modseq, content_id) for QRESYNC and
//                           JMAP Email/changes, up to a horizon; content_id '' when the
//                           tombstone predates version 4
//   texts                   FTS5 (trigram: substring candidates) over header and body text,
//                           rowid = messages.id
//   pending_unlink          (folder, file) of expunged messages whose file may still exist:
//                           written in the expunge's transaction, cleared once the unlink
//                           is durable; never re-indexed by a rescan, finished on open
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace mail::store::index {

inline constexpr std::int64_t kSchemaVersion = 4;

// The statements that create every table of kSchemaVersion in an empty database.
std::string_view schema_sql() noexcept;

// migrations()[v - 1] upgrades version v to v + 1.
// A database newer than kSchemaVersion, or older without a migration, counts as damaged.
std::span<const std::string_view> migrations() noexcept;

}  // namespace mail::store::index
