// MaildirStore: durable delivery into Maildir++ folders (tmp/ -> new/) through Env::Disk,
// with group commit: concurrent deliveries share one sync_files round and one sync_dir per
// directory. A delivery completes only after file data and directory entries are durable.
// Layout: <data_dir>/mail/<user>/Maildir/{tmp,new,cur}.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "runtime/env.h"
#include "runtime/task.h"

namespace mail::store {

struct MaildirConfig {
  std::string data_dir;  // absolute or relative path; "mail/" lives under it
};

class MaildirStore {
 public:
  MaildirStore(rt::Env& env, MaildirConfig config);
  ~MaildirStore();
  MaildirStore(const MaildirStore&) = delete;
  MaildirStore& operator=(const MaildirStore&) = delete;

  // Creates the user's Maildir (tmp/new/cur) durably if missing.
  rt::Task<Status> ensure_mailbox(std::string user);

  // Stores `content` into each user's new/ (hard links where possible), durably.
  // Returns the unique base name used (RFC-less Maildir convention: time.MusecRrandQn.host).
  rt::Task<Result<std::string>> deliver(std::vector<std::string> users, std::string content);

  std::string maildir_path(std::string_view user) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mail::store
