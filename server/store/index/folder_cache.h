// FolderCache: the in-memory copy of one folder's index (its counters, every message's
// metadata in ascending UID order, the expunge tombstones the change log still holds), so
// SELECT, FETCH 1:* and a session's resync (changes_since) never touch SQLite. SQLite stays
// the truth: the store fills a cache from the database and applies to it exactly the
// changes it has just committed, in commit order. Pure: no I/O, no clock, no Env; lives on
// the Env's executor thread. RFC 9051 §2.3.1 (UIDs), RFC 7162 §3.1 (MODSEQ), §3.2.5
// (QRESYNC expunges).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/mail_store.h"

namespace mail::store::index {

struct CachedMessage {
  MessageInfo info;
  std::uint64_t created_modseq = 0;  // the modseq of the change that added it (<= info.modseq)
  std::string file;                  // below the user's Maildir: "new/<n>", ".Sent/cur/<n>:2,S"
  friend bool operator==(const CachedMessage&, const CachedMessage&) = default;
};

struct Tombstone {
  std::uint32_t uid = 0;
  std::uint64_t modseq = 0;  // of the expunge
  // The expunged message's content id (JMAP's Email id); "" for a tombstone written before
  // the index kept it (schema version < 4), and in set_flags' (uid, modseq) results.
  std::string content_id;
  friend bool operator==(const Tombstone&, const Tombstone&) = default;
};

// The counters the database keeps per folder.
struct FolderCounters {
  std::uint32_t uidvalidity = 0;
  std::uint32_t uidnext = 1;
  std::uint64_t highestmodseq = 0;
  // Expunges with modseq <= horizon are forgotten: changes_since(s) for s < horizon is
  // Errc::expired. 0 = nothing forgotten yet.
  std::uint64_t horizon_modseq = 0;
  friend bool operator==(const FolderCounters&, const FolderCounters&) = default;
};

class FolderCache {
 public:
  struct ModseqEntry {
    std::uint64_t modseq = 0;
    std::uint32_t uid = 0;
  };

  // `messages` ascending by uid, every uid < counters.uidnext, every modseq <=
  // highestmodseq (asserted); tombstones in any order, each uid absent from `messages`.
  FolderCache(FolderCounters counters, std::vector<CachedMessage> messages, std::vector<Tombstone> tombstones);

  const FolderCounters& counters() const noexcept { return counters_; }
  FolderStatus status() const;
  FolderSnapshot snapshot() const;
  std::span<const CachedMessage> messages() const noexcept { return messages_; }
  std::span<const Tombstone> tombstones() const noexcept { return tombstones_; }
  // nullptr when no message has this uid.
  const CachedMessage* find(std::uint32_t uid) const noexcept;

  // Everything after `since_modseq` (ascending modseq, one entry per uid): messages added
  // after it (kind added), messages whose flags changed after it (kind flags), tombstones
  // after it (kind expunged: uid, modseq and content id only). Errc::expired when since_modseq < horizon (the log no longer
  // holds every expunge after it).
  Result<FolderChanges> changes_since(std::uint64_t since_modseq) const;

  // The mutators mirror one committed change each; modseqs strictly increase across calls
  // (asserted), uids of add() strictly ascend and are < uidnext_after.
  void add(CachedMessage m, std::uint32_t uidnext_after);
  // False when the uid is unknown (then nothing changes).
  bool set_flags(std::uint32_t uid, Flags flags, std::uint64_t modseq);
  bool expunge(std::uint32_t uid, std::uint64_t modseq);
  // The file of a message moved on disk (another program renamed new/x to cur/x:2,S):
  // not a change of the message, no modseq.
  bool set_file(std::uint32_t uid, std::string file);
  // Forgets tombstones with modseq <= horizon (horizon only grows).
  void set_horizon(std::uint64_t horizon_modseq);
  // A change that only bumped the folder's modseq (e.g. a rename): highestmodseq = modseq.
  void touch(std::uint64_t modseq);

 private:
  void account_in(const MessageInfo& m, int sign);
  void advance_modseq(std::uint64_t modseq);
  // Appends (modseq, uid) to by_modseq_ and drops its stale entries when they outnumber
  // the live ones.
  void log_change(std::uint64_t modseq, std::uint32_t uid);
  bool live(const ModseqEntry& e) const noexcept;

  FolderCounters counters_;
  std::vector<CachedMessage> messages_;  // ascending uid
  std::vector<Tombstone> tombstones_;    // ascending modseq
  // Every message's (modseq, uid), ascending modseq, plus stale entries of messages changed
  // or expunged since (skipped: the message's modseq no longer matches). changes_since(s)
  // reads only the entries after s, so a session's resync costs O(changes), not O(messages).
  std::vector<ModseqEntry> by_modseq_;
  std::uint32_t unseen_ = 0;
  std::uint32_t deleted_ = 0;
  std::uint64_t size_ = 0;
};

}  // namespace mail::store::index
