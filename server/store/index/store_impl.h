// IndexedStore's private state, shared by its .cpp files (indexed_store.cpp: the MailStore
// calls; account_open.cpp: opening, rebuilding and rescanning): the per-account state on
// the executor (folders, caches, subscriptions, the account mutex, the database handle
// that only lane jobs touch), the lanes, the listeners. Not for other code.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "runtime/await.h"
#include "store/group_commit.h"
#include "store/index/account_db.h"
#include "store/index/async_mutex.h"
#include "store/index/folder_cache.h"
#include "store/index/indexed_store.h"
#include "store/maildir.h"
#include "store/maildir_name.h"
#include "store/sqlite/vfs.h"

namespace mail::store {

namespace index {

struct FolderState {
  FolderRow row;                      // id, name, dir, special use; counters as first read
  std::optional<FolderCache> cache;   // once loaded: the truth's mirror (counters too)
  std::optional<Instant> rescanned_at;
};

struct Account {
  explicit Account(rt::Executor& ex) : mutex(ex) {}
  std::string user;
  std::string maildir;  // <data_dir>/mail/<user>/Maildir
  std::size_t lane = 0;
  std::unique_ptr<AccountDb> db;  // only inside jobs of lanes[lane]
  bool ready = false;
  std::map<std::string, FolderState> folders;  // by normalized name
  std::set<std::string> subscriptions;
  // Committed expunges' files (relative to the folder) not yet known unlinked durably, by
  // folder id: a rescan finishes them and never indexes them (pending_unlink rows).
  std::map<std::int64_t, std::set<std::string>> unlink_pending;
  // Pending unlinks now durable whose rows are still there: the next expunge's transaction
  // (or the next open) deletes the rows; until then they are harmless.
  std::vector<PendingUnlink> unlinked;
  AsyncMutex mutex;
};

// An account, opened, with its mutex held.
struct Locked {
  Account* account = nullptr;
  AsyncMutex::Guard guard;
};

// Header block (through the empty line, at most kHeadersBytesMax) and the rest.
std::pair<std::string_view, std::string_view> split_message(std::string_view message) noexcept;
// A stable content id from a Maildir base name and size: "M<16 hex>S<size>".
std::string content_id_of(std::string_view base, std::uint64_t size);
// The internal date a Maildir name implies (its leading Unix seconds), else `fallback`.
std::int64_t internal_date_of(std::string_view name, std::int64_t fallback) noexcept;

}  // namespace index

struct IndexedStore::Impl {
  Impl(rt::Env& e, IndexedStoreConfig c);

  std::string user_dir(std::string_view user) const;  // <data_dir>/mail/<user>
  std::string uidvalidity_path(std::string_view user) const;
  std::string path_in(const index::Account& a, std::string_view rel) const;  // maildir + "/" + rel

  template <class F>
  auto job(index::Account& a, F fn) {
    ++stats.db_jobs;
    return rt::run_on(*lanes[a.lane], std::move(fn));
  }

  // The account of a valid user name, opened (created or rebuilt as needed), locked.
  rt::Task<Result<index::Locked>> acquire(std::string user);
  rt::Task<Status> open_account(index::Account& a);
  // The folder with its cache loaded and rescanned at least once in this process (and
  // again when `rescan_due` and rescan_interval passed). Errc::not_found, Errc::invalid.
  rt::Task<Result<index::FolderState*>> folder(index::Account& a, std::string name, bool rescan_due);
  rt::Task<Status> rescan(index::Account& a, index::FolderState& f);
  // Unlinks the files of the folder's pending unlinks (found by Maildir base name in new/
  // and cur/, so a file another program moved meanwhile goes too) and syncs the
  // directories; those done move to a.unlinked, those that failed stay pending.
  rt::Task<Status> finish_unlinks(index::Account& a, std::int64_t folder_id, std::string dir);
  // A NewMessage for bytes stored at `file` (relative to the folder dir).
  index::NewMessage new_message(std::string_view content, std::string file, Flags flags, std::int64_t date) const;
  // Mirrors an add_messages commit into the cache and tells the listeners.
  void apply_added(index::Account& a, index::FolderState& f, const std::vector<index::CachedMessage>& added);
  void apply_expunged(index::Account& a, index::FolderState& f, const index::ExpungeOutcome& out);
  void notify(const std::string& user, const std::string& folder, std::uint64_t modseq);
  // Creates the folder directories (tmp/new/cur) durably.
  rt::Task<Status> make_folder_dirs(index::Account& a, std::vector<std::string> dirs);
  // Self-heal (as Dovecot does): recreates whichever of tmp/, new/ and cur/ another program
  // or an administrator removed from an existing folder directory (the Maildir itself for
  // INBOX), durably. `folder_path` is absolute.
  rt::Task<Status> heal_folder_dirs(std::string folder_path);
  // Records the greatest UIDVALIDITY handed out beside the index (survives its loss).
  rt::Task<Status> write_uidvalidity_marker(index::Account& a);

  rt::Env& env;
  IndexedStoreConfig config;
  std::string data_dir;
  MaildirStore maildir;       // INBOX deliveries (group commit)
  GroupCommitter committer;   // APPEND and COPY-fallback files
  MaildirNamer namer;
  Result<std::unique_ptr<sqlite::Vfs>> vfs;
  std::string vfs_name;
  std::vector<std::unique_ptr<rt::BlockingLane>> lanes;
  std::map<std::string, std::unique_ptr<index::Account>> accounts;
  std::map<std::string, std::map<std::uint64_t, std::shared_ptr<ChangeListener>>> listeners;
  std::uint64_t next_listener = 1;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  IndexedStoreStats stats;
};

}  // namespace mail::store
