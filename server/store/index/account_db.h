// AccountDb: one account's index database (schema.h) and every query and transaction the
// store runs on it. Synchronous and blocking: every call is made inside a BlockingLane job
// of the account's lane, never on the executor (store/sqlite/db.h). Each mutating call is
// one transaction; MODSEQ (RFC 7162) is the account's counter in meta, incremented once per
// message changed, and every folder a change touches gets it as HIGHESTMODSEQ. Knows no
// file system: the caller made the message files durable before adding their rows; an
// expunge records the files it leaves to unlink (pending_unlink) in its own transaction,
// and the caller clears them once their unlinks are durable.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/index/folder_cache.h"
#include "store/mail_store.h"
#include "store/sqlite/db.h"

namespace mail::store::index {

struct FolderRow {
  std::int64_t id = 0;
  std::string name;  // normalized ("INBOX", "A/B")
  std::string dir;   // below the Maildir: "" for INBOX, ".A.B"
  FolderCounters counters;
  SpecialUse special_use = SpecialUse::none;
  std::optional<std::string> renamed_from;  // the directory it still has to be renamed from
  // IMAP4rev1 \Recent (RFC 3501 §2.3.2): messages with uid >= this were not yet claimed by
  // a session's SELECT (1 for a new folder: everything it gets is recent to someone).
  std::uint32_t recent_uid = 1;
};

struct NewFolder {
  std::string name;
  std::string dir;
  SpecialUse special_use = SpecialUse::none;
};

// A message whose file is durable, to be indexed.
struct NewMessage {
  std::string file;  // relative to the folder's directory: "new/<n>", "cur/<n>:2,S"
  Flags flags;
  std::int64_t internal_date = 0;
  std::uint64_t size = 0;
  std::string content_id;
  std::string headers;    // the header block, at most kHeadersBytesMax
  std::string text_hdr;   // FTS text of the headers
  std::string text_body;  // FTS text of the body (the configured extractor's)
};

inline constexpr std::size_t kHeadersBytesMax = 64 * 1024;

struct FolderContents {
  std::vector<CachedMessage> messages;  // ascending uid
  std::vector<Tombstone> tombstones;
};

// A file of an expunged message that may still exist (schema.h pending_unlink).
struct PendingUnlink {
  std::int64_t folder_id = 0;
  std::string file;  // relative to the folder's directory, as messages.file
  friend auto operator<=>(const PendingUnlink&, const PendingUnlink&) = default;
};

struct ExpungeOutcome {
  std::vector<Tombstone> removed;      // ascending uid, each with its new modseq
  std::uint64_t horizon_modseq = 0;    // the folder's horizon after pruning tombstones
};

class AccountDb {
 public:
  // Opens (creating when missing) the database at `path` through VFS `vfs` ("" = the OS)
  // and checks it: PRAGMA integrity_check, a known schema version (older ones migrated).
  // Errc::invalid when it is damaged or unknown; then *uidvalidity_floor is the greatest
  // UIDVALIDITY it could still read (0 if none), so the rebuild can go above it.
  static Result<std::unique_ptr<AccountDb>> open(const std::string& path, const std::string& vfs,
                                                 std::uint32_t* uidvalidity_floor);
  AccountDb(const AccountDb&) = delete;
  AccountDb& operator=(const AccountDb&) = delete;
  ~AccountDb();

  Result<std::vector<FolderRow>> folders();
  Result<std::vector<std::string>> subscriptions();
  Result<std::uint64_t> modseq();
  Result<QuotaUsage> usage();

  // Creates folders (names and dirs unused, asserted by UNIQUE) with fresh UIDVALIDITYs:
  // each max(uidvalidity_last + 1, now_seconds, floor). Subscribes them when `subscribe`.
  Result<std::vector<FolderRow>> create_folders(std::vector<NewFolder> folders, std::uint32_t now_seconds,
                                                std::uint32_t floor, bool subscribe);
  // Deletes the folder, its messages, tombstones and texts.
  Status delete_folder(std::int64_t id);
  // Renames folders (id -> name, dir), recording each old dir in renamed_from; one modseq
  // for the change. Returns the modseq.
  Result<std::uint64_t> rename_folders(std::vector<FolderRow> renamed);
  // The disk rename of these folders is durable: forget renamed_from.
  Status clear_renamed(std::vector<std::int64_t> ids);
  Status set_subscribed(const std::string& name, bool subscribed);
  // The folder's first uid not yet claimed as \Recent (FolderRow::recent_uid).
  Status set_recent_uid(std::int64_t folder_id, std::uint32_t recent_uid);

  Result<FolderContents> load_folder(std::int64_t id);
  // Adds messages in order with fresh uids; a message whose Maildir base name the folder
  // already has (a rescan indexed it first) keeps its uid and gets `flags` as a change
  // (a new modseq), or, when they are the flags it has, stays as it is (same modseq).
  // Returns, per message, the CachedMessage as stored; *after the folder's counters.
  Result<std::vector<CachedMessage>> add_messages(std::int64_t folder_id, std::vector<NewMessage> messages,
                                                  FolderCounters* after);
  // COPY: adds `messages` (their file, flags, date, size, content id) with fresh uids to
  // folder `to_id`, taking each one's header block and texts from `from_uids[i]` of
  // `from_id` (parallel vectors). Errc::not_found when a source row is missing.
  Result<std::vector<CachedMessage>> copy_messages(std::int64_t from_id, const std::vector<std::uint32_t>& from_uids,
                                                   std::int64_t to_id, std::vector<NewMessage> messages,
                                                   FolderCounters* after);
  // Sets each (uid, flags); one modseq per message. Unknown uids skipped. Returns the
  // changed messages' (uid, modseq).
  Result<std::vector<Tombstone>> set_flags(std::int64_t folder_id,
                                           std::vector<std::pair<std::uint32_t, Flags>> changes);
  // Removes these uids (unknown ones skipped) and keeps at most `tombstones_max`
  // tombstones in the folder (older ones dropped, the horizon raised). In the same
  // transaction: records `unlink_files` (the removed messages' files, relative to the
  // folder) as pending unlinks, and forgets the `unlinked` ones (their unlinks are durable).
  Result<ExpungeOutcome> expunge(std::int64_t folder_id, std::vector<std::uint32_t> uids,
                                 std::uint32_t tombstones_max, const std::vector<std::string>& unlink_files = {},
                                 const std::vector<PendingUnlink>& unlinked = {});
  // Every pending unlink, by folder and file.
  Result<std::vector<PendingUnlink>> pending_unlinks();
  // These unlinks are durable: forget them.
  Status clear_pending_unlinks(const std::vector<PendingUnlink>& unlinked);
  // Files moved behind the store's back (new/x -> cur/x:2,S): no change of the message.
  Status set_files(std::int64_t folder_id, std::vector<std::pair<std::uint32_t, std::string>> files);
  // The header blocks of `uids`, in order; "" for unknown ones.
  Result<std::vector<std::string>> read_headers(std::int64_t folder_id, const std::vector<std::uint32_t>& uids);
  // Uids whose field's FTS text may contain every term (terms shorter than 3 octets
  // cannot use the trigram index: they match every message, a superset).
  Result<std::vector<std::uint32_t>> search_text(std::int64_t folder_id, TextField field,
                                                 const std::vector<std::string>& terms);
  // The statement search_text runs: ?1 the folder id, ?2 the FTS5 MATCH expression (only
  // when `with_match`). Public for the query-plan test.
  static std::string search_text_sql(bool with_match);

 private:
  explicit AccountDb(sqlite::Db db) : db_(std::move(db)) {}
  Result<std::uint64_t> next_modseq();

  sqlite::Db db_;
  // next_modseq's statements, prepared on first use (one modseq per message changed);
  // declared after db_ so they are finalized before it closes.
  sqlite::Statement modseq_get_;
  sqlite::Statement modseq_set_;
};

// Keywords as stored: space-separated (IMAP keywords are atoms, RFC 9051 §9 flag-keyword).
std::string join_keywords(const std::vector<std::string>& keywords);
std::vector<std::string> split_keywords(std::string_view text);

}  // namespace mail::store::index
