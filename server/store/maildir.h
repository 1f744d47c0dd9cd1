// MaildirStore: durable delivery into Maildir folders (tmp/ -> new/) through Env::Disk,
// with group commit (group_commit.h): concurrent deliveries share one sync_files round and
// one sync_dir per directory. A delivery completes only after file data and directory
// entries are durable. Layout: maildir_path() below, the one place that spells it.
// Must not touch the clock, randomness or files except through Env.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "runtime/env.h"
#include "store/group_commit.h"
#include "runtime/task.h"
#include "store/mailbox_store.h"

namespace mail::store {

struct MaildirConfig {
  std::string data_dir;  // absolute or relative path; "mail/" lives under it
};

// The three folders of a Maildir: files are written in tmp/, delivered by a rename into
// new/, and moved to cur/ (with ":2,<flags>") by a reader that has seen them.
enum class MaildirFolder : std::uint8_t { tmp, new_mail, cur };
std::string_view to_string(MaildirFolder folder) noexcept;  // "tmp", "new", "cur"
inline constexpr std::array<MaildirFolder, 3> maildir_folders{MaildirFolder::tmp, MaildirFolder::new_mail,
                                                             MaildirFolder::cur};
// Where delivered messages are, in reading order (readers ignore tmp/).
inline constexpr std::array<MaildirFolder, 2> maildir_message_folders{MaildirFolder::new_mail, MaildirFolder::cur};

// The layout, the one function that knows it: "<data_dir>/mail/<user>/Maildir". data_dir
// as configured, absolute or relative: "" means ".", repeated and trailing '/' are dropped
// ("/" stays "/"). `user` must satisfy is_valid_mailbox_user() (asserted: names from
// outside are checked first, the stores answer Errc::invalid).
std::string maildir_path(std::string_view data_dir, std::string_view user);
// maildir_path() + "/" + to_string(folder).
std::string maildir_folder_path(std::string_view data_dir, std::string_view user, MaildirFolder folder);

struct MaildirStats {
  std::uint64_t deliveries = 0;        // deliver_parts() calls that reached the commit
  std::uint64_t commit_rounds = 0;     // group-commit rounds (sync_files calls for tmp files)
  std::uint64_t largest_round = 0;     // most deliveries committed by one round
  std::uint64_t link_copies = 0;       // hard links replaced by copies
  std::uint64_t mailboxes_created = 0; // ensure_mailbox() calls that did the mkdirs
};

// The directories holding the entries that name `path` and each of its ancestors, nearest
// first — what must be synced after a `mkdir -p path`: "/var/lib/x" -> {"/var/lib", "/var",
// "/"}; "var/x" -> {"var", "."}; "./var" -> {"."}. Purely textual.
std::vector<std::string> ancestor_dirs(std::string_view path);

class MaildirStore final : public MailboxStore {
 public:
  MaildirStore(rt::Env& env, MaildirConfig config);
  ~MaildirStore() override;
  MaildirStore(const MaildirStore&) = delete;
  MaildirStore& operator=(const MaildirStore&) = delete;

  // Creates the user's Maildir (tmp/new/cur) and syncs every directory from the root down
  // to it, so the folders survive a crash. Remembered in memory: later calls for the user
  // do no I/O. Errc::invalid for a user name that fails is_valid_mailbox_user().
  rt::Task<Status> ensure_mailbox(std::string user) override;

  // Written once with one writev to the first user's tmp/, hard-linked into the other
  // users' new/ (copied where links fail), group-committed; returns the unique base name
  // (time.MusecRrandQn.host,S=size), the same in every new/. The only place a delivery
  // ensures its mailboxes and drops repeated users.
  rt::Task<Result<std::string>> deliver_parts(std::vector<std::string> users, std::vector<std::string> parts) override;

  // Messages in new/ then cur/, each sorted by name; a ref's id is "new/<name>" or
  // "cur/<name>". read_message: Errc::invalid for an id outside new/ and cur/ or a name
  // that is not a plain file name.
  rt::Task<Result<std::vector<StoredMessageRef>>> list_messages(std::string user) override;
  rt::Task<Result<std::string>> read_message(std::string user, StoredMessageRef ref) override;

  std::string maildir_path(std::string_view user) const;  // store::maildir_path(data_dir, user)
  MaildirStats stats() const noexcept;
  // The group committer's own counters and latency histograms.
  const GroupCommitStats& commit_stats() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mail::store
