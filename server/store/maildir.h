// MaildirStore: durable delivery into Maildir folders (tmp/ -> new/) through Env::Disk,
// with group commit (group_commit.h): concurrent deliveries share one sync_files round and
// one sync_dir per directory. A delivery completes only after file data and directory
// entries are durable. Layout: <data_dir>/mail/<user>/Maildir/{tmp,new,cur}.
// Must not touch the clock, randomness or files except through Env.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "runtime/env.h"
#include "runtime/task.h"

namespace mail::store {

struct MaildirConfig {
  std::string data_dir;  // absolute or relative path; "mail/" lives under it
};

// One message file of a Maildir, for the read side.
struct MaildirEntry {
  std::string subdir;  // "new" or "cur"
  std::string name;    // file name, including any ":2,<flags>" info
  std::string relative_path() const { return subdir + "/" + name; }
  friend bool operator==(const MaildirEntry&, const MaildirEntry&) = default;
};

struct MaildirStats {
  std::uint64_t deliveries = 0;        // deliver() calls that reached the commit
  std::uint64_t commit_rounds = 0;     // group-commit rounds (sync_files calls for tmp files)
  std::uint64_t largest_round = 0;     // most deliveries committed by one round
  std::uint64_t link_copies = 0;       // hard links replaced by copies
  std::uint64_t mailboxes_created = 0; // ensure_mailbox() calls that did the mkdirs
};

// A user name usable as a folder name: non-empty, at most 255 bytes, no '/', no NUL, not
// starting with '.' (so never "." or ".."). Directory user names should satisfy it.
bool is_valid_mailbox_user(std::string_view user) noexcept;

// The directories holding the entries that name `path` and each of its ancestors, nearest
// first — what must be synced after a `mkdir -p path`: "/var/lib/x" -> {"/var/lib", "/var",
// "/"}; "var/x" -> {"var", "."}; "./var" -> {"."}. Purely textual.
std::vector<std::string> ancestor_dirs(std::string_view path);

class MaildirStore {
 public:
  MaildirStore(rt::Env& env, MaildirConfig config);
  ~MaildirStore();
  MaildirStore(const MaildirStore&) = delete;
  MaildirStore& operator=(const MaildirStore&) = delete;

  // Creates the user's Maildir (tmp/new/cur) and syncs the parent directories, so the
  // folders survive a crash. Remembered in memory: later calls for the user do no I/O.
  // Errc::invalid for a user name that fails is_valid_mailbox_user().
  rt::Task<Status> ensure_mailbox(std::string user);

  // Stores `content` into each distinct user's new/ (written once to the first user's
  // tmp/, hard-linked to the others, copied where links fail), durably, and returns the
  // unique base name used (time.MusecRrandQn.host,S=size). Ensures missing mailboxes.
  // On error nothing of this delivery is left in any new/ (best effort cleanup).
  rt::Task<Result<std::string>> deliver(std::vector<std::string> users, std::string content);
  // The same, the message being `parts` in order (e.g. a trace-header block and the body
  // as received): written with one writev, never joined in memory.
  rt::Task<Result<std::string>> deliver_parts(std::vector<std::string> users, std::vector<std::string> parts);

  // Read side (tests, inspection API): messages in new/ then cur/, each sorted by name.
  rt::Task<Result<std::vector<MaildirEntry>>> list_messages(std::string user);
  // Errc::invalid for an entry outside new/ and cur/ or a name with '/'.
  rt::Task<Result<std::string>> read_message(std::string user, MaildirEntry entry);

  std::string maildir_path(std::string_view user) const;  // <data_dir>/mail/<user>/Maildir
  MaildirStats stats() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mail::store
