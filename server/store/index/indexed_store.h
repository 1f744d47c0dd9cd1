// IndexedStore: the SQLite-backed MailStore (mail_store.h). Message files stay in Maildir++
// folders (folder_layout.h; INBOX is the Maildir SMTP delivers into); beside them one index
// database per account, <data_dir>/mail/<user>/index.sqlite (account_db.h, schema.h), holds
// UIDs, flags, MODSEQs, the change log and the header blocks and FTS texts. Flags live in
// the index only: files are never renamed on STORE (another Maildir reader sees none).
//
// Durability (mail_store.h): a new message's file is made durable (tmp/ -> new/, synced)
// BEFORE its index row commits. An expunge commits FIRST (row removal, tombstones and the
// files in pending_unlink, one transaction: all of it or none), then unlinks the files and
// syncs their directories; the next open finishes the unlinks a crash (or a failed unlink)
// left, and no rescan indexes a pending file — an expunged message never comes back, and
// an expunge never half-happens whatever subset of unsynced unlinks the file system kept.
// Rescan (first use of a folder in a process, then at most every rescan_interval on
// open_folder/folder_status) indexes files added behind the store's back (flags from
// ":2,<flags>") and expunges rows whose file vanished. A missing, damaged or unknown index
// is moved aside and rebuilt from the Maildir folders with new UIDVALIDITYs.
//
// Threads: every SQLite call runs in a job of one of a few BlockingLanes (an account is
// always on the same lane); everything else, including the in-memory folder caches that
// serve open_folder/changes_since/read without SQLite, runs on the Env's executor. One
// account's operations are serialized by an AsyncMutex; appends and deliveries write their
// files before taking it. Must not touch the clock, randomness or files except through Env.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/time.h"
#include "runtime/env.h"
#include "store/group_commit.h"
#include "store/mail_store.h"

namespace mail::store {

struct IndexedStoreConfig {
  std::string data_dir;     // as MaildirConfig::data_dir
  std::uint32_t lanes = 2;  // BlockingLanes for all accounts (account -> lane by a stable hash)
  // Per-account quota (RFC 9208); 0 = no limit. append() past it: Errc::no_space.
  std::uint64_t quota_bytes_max = 0;
  std::uint64_t quota_messages_max = 0;
  // Expunge tombstones kept per folder for QRESYNC; older ones raise the horizon.
  std::uint32_t tombstones_per_folder_max = 10'000;
  // How often open_folder/folder_status look at the disk for foreign changes.
  Duration rescan_interval = 5s;
  // The text the FTS index gets for a message's body. Default (empty): the bytes after the
  // header block, as they are.
  std::function<std::string(std::string_view message)> text_extractor;
};

struct IndexedStoreStats {
  std::uint64_t rebuilds = 0;        // indexes moved aside and rebuilt
  std::uint64_t rescans = 0;         // folder rescans run
  std::uint64_t rescan_added = 0;    // files indexed by rescans
  std::uint64_t rescan_removed = 0;  // rows expunged by rescans (file vanished)
  std::uint64_t db_jobs = 0;         // lane jobs run (every SQLite access is one)
  GroupCommitStats delivery_commits;  // INBOX deliveries' group commit (the Maildir store's)
  GroupCommitStats append_commits;    // APPEND and COPY-fallback files' group commit
};

class IndexedStore final : public MailStore {
 public:
  IndexedStore(rt::Env& env, IndexedStoreConfig config);
  // Destroy on the executor thread, with no call in flight (or after the Env destroyed its
  // tasks): the lanes are joined first, then the databases closed.
  ~IndexedStore() override;
  IndexedStore(const IndexedStore&) = delete;
  IndexedStore& operator=(const IndexedStore&) = delete;

  // MailboxStore
  rt::Task<Status> ensure_mailbox(std::string user) override;
  rt::Task<Result<std::string>> deliver_parts(std::vector<std::string> users, std::vector<std::string> parts) override;
  // INBOX's messages in UID order; a ref's id is "<uid>" (read_message: Errc::invalid for
  // anything else, Errc::not_found when expunged).
  rt::Task<Result<std::vector<StoredMessageRef>>> list_messages(std::string user) override;
  rt::Task<Result<std::string>> read_message(std::string user, StoredMessageRef ref) override;

  // MailStore
  rt::Task<Result<QuotaUsage>> usage(std::string user) override;
  rt::Task<Result<std::vector<FolderInfo>>> list_folders(std::string user) override;
  rt::Task<Status> create_folder(std::string user, std::string name, SpecialUse use) override;
  rt::Task<Status> delete_folder(std::string user, std::string name) override;
  rt::Task<Status> rename_folder(std::string user, std::string from, std::string to) override;
  rt::Task<Status> set_subscribed(std::string user, std::string name, bool subscribed) override;
  rt::Task<Result<std::vector<std::string>>> list_subscriptions(std::string user) override;
  rt::Task<Result<FolderStatus>> folder_status(std::string user, std::string name) override;
  rt::Task<Result<FolderSnapshot>> open_folder(std::string user, std::string name) override;
  rt::Task<Result<FolderChanges>> changes_since(std::string user, std::string name, std::uint64_t since_modseq) override;
  rt::Task<Result<std::uint32_t>> claim_recent(std::string user, std::string name, std::uint32_t up_to_uid,
                                               bool claim) override;
  rt::Task<Result<AppendResult>> append(std::string user, std::string folder, std::string content, Flags flags,
                                        std::int64_t internal_date) override;
  rt::Task<Result<std::string>> read(std::string user, std::string folder, std::uint32_t uid) override;
  rt::Task<Result<std::string>> read_range(std::string user, std::string folder, std::uint32_t uid, std::uint64_t offset,
                                           std::size_t max_bytes) override;
  rt::Task<Result<std::vector<Result<std::string>>>> read_many(std::string user, std::string folder,
                                                               std::vector<std::uint32_t> uids) override;
  rt::Task<Result<StoreFlagsResult>> store_flags(std::string user, std::string folder, std::vector<std::uint32_t> uids,
                                                 FlagOp op, Flags flags,
                                                 std::optional<std::uint64_t> unchanged_since) override;
  rt::Task<Result<CopyResult>> copy(std::string user, std::string from, std::vector<std::uint32_t> uids,
                                    std::string to) override;
  rt::Task<Result<CopyResult>> move(std::string user, std::string from, std::vector<std::uint32_t> uids,
                                    std::string to) override;
  rt::Task<Result<std::vector<std::uint32_t>>> expunge(std::string user, std::string folder,
                                                       std::vector<std::uint32_t> uids) override;
  rt::Task<Result<std::vector<std::string>>> read_headers(std::string user, std::string folder,
                                                          std::vector<std::uint32_t> uids) override;
  rt::Task<Result<std::vector<std::uint32_t>>> search_text(std::string user, std::string folder, TextField field,
                                                           std::vector<std::string> terms) override;
  std::unique_ptr<ChangeSubscription> subscribe(std::string user, ChangeListener listener) override;

  // <data_dir>/mail/<user>/index.sqlite
  std::string index_path(std::string_view user) const;
  IndexedStoreStats stats() const;

  struct Impl;

 private:
  // The file of message `uid` (below the data dir), or Errc::not_found.
  rt::Task<Result<std::string>> message_path(std::string user, std::string folder, std::uint32_t uid);

  std::unique_ptr<Impl> impl_;
};

}  // namespace mail::store
