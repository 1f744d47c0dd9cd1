// MailStore: the indexed mail store that IMAP, POP3 and (later) JMAP read and change, and
// that local delivery writes into. One interface, shaped for two backends: SQLite beside
// the Maildir files (store/index/, this issue) and, later, PostgreSQL shared by several
// front-end machines. So nothing here names SQLite, a file path or a Maildir type, and
// every call is a Task (a backend may run it on another thread or machine).
//
// Model (RFC 9051 §2.3.1): an account (one per user) holds folders; a folder has a
// UIDVALIDITY, a UIDNEXT and a HIGHESTMODSEQ; a message has a UID (strictly ascending in
// its folder, never reused while UIDVALIDITY stays), flags, a MODSEQ (RFC 7162, the
// account-wide counter value of its last change), an internal date and a size. Contents
// are immutable once stored. Every change to a folder is one entry of the account's change
// log, ordered by MODSEQ: it serves CONDSTORE/QRESYNC, IDLE wake-ups, POP3 snapshots and
// later JMAP */changes — one log for all of them.
//
// Durability (DESIGN.md): a call that completes ok is durable (APPEND, COPY, MOVE, STORE,
// EXPUNGE, delivery) — survives kill -9 and a simulated crash. Folder names are UTF-8 with
// '/' as the hierarchy delimiter; "INBOX" (any case) is the inbox.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/function.h"
#include "core/result.h"
#include "runtime/task.h"
#include "store/mailbox_store.h"

namespace mail::store {

inline constexpr char kFolderDelimiter = '/';

// System flags as a bit set (RFC 9051 §2.3.2). \Recent does not exist in IMAP4rev2 and
// is not a stored flag: the folder keeps which uids a session already claimed as recent
// (MailStore::claim_recent) and a rev1 session shows it. Keywords are separate strings.
enum SystemFlag : std::uint8_t {
  flag_seen = 1 << 0,
  flag_answered = 1 << 1,
  flag_flagged = 1 << 2,
  flag_deleted = 1 << 3,
  flag_draft = 1 << 4,
};

struct Flags {
  std::uint8_t system = 0;
  std::vector<std::string> keywords;  // sorted, unique, case as first stored (RFC 9051 §2.3.2)
  friend bool operator==(const Flags&, const Flags&) = default;
};

// RFC 6154 special use of a folder.
enum class SpecialUse : std::uint8_t { none, drafts, sent, trash, junk, archive, all, flagged };
// The RFC 6154 attribute ("\\Drafts"...), empty for none.
constexpr std::string_view special_use_attribute(SpecialUse u) noexcept {
  switch (u) {
    case SpecialUse::drafts: return "\\Drafts";
    case SpecialUse::sent: return "\\Sent";
    case SpecialUse::trash: return "\\Trash";
    case SpecialUse::junk: return "\\Junk";
    case SpecialUse::archive: return "\\Archive";
    case SpecialUse::all: return "\\All";
    case SpecialUse::flagged: return "\\Flagged";
    case SpecialUse::none: break;
  }
  return {};
}

struct FolderInfo {
  std::string name;  // full UTF-8 name, '/'-delimited; "INBOX" for the inbox
  SpecialUse special_use = SpecialUse::none;
  bool subscribed = false;
  bool has_children = false;  // RFC 3348
  bool selectable = true;     // false: \Noselect (a parent that only exists for children)
};

// A folder's counters (STATUS, SELECT): read without opening the folder.
struct FolderStatus {
  std::uint32_t uidvalidity = 0;
  std::uint32_t uidnext = 1;
  std::uint64_t highestmodseq = 0;  // 0 only for a folder that never changed
  std::uint32_t messages = 0;
  std::uint32_t unseen = 0;    // messages without \Seen
  std::uint32_t deleted = 0;   // messages with \Deleted (RFC 9051 STATUS DELETED)
  std::uint64_t size = 0;      // octets of all messages (RFC 8438 STATUS=SIZE)
  std::uint32_t recent = 0;    // messages no session claimed as \Recent yet (RFC 3501 STATUS RECENT)
};

// One message's metadata: everything IMAP needs except the contents.
struct MessageInfo {
  std::uint32_t uid = 0;
  std::uint64_t modseq = 0;
  Flags flags;
  std::int64_t internal_date = 0;  // seconds since the Unix epoch (UTC)
  std::uint64_t size = 0;          // octets of the message as stored (CRLF line ends)
  // A stable id of the contents across folders and accounts (COPY/MOVE keep it): the
  // JMAP blob id and the POP3 UIDL. Opaque, printable ASCII, at most 70 octets.
  std::string content_id;
  friend bool operator==(const MessageInfo&, const MessageInfo&) = default;
};

// A folder opened for IMAP SELECT (or a POP3 session): the counters and every message in
// ascending UID order at one MODSEQ.
struct FolderSnapshot {
  FolderStatus status;
  std::vector<MessageInfo> messages;  // ascending uid
};

// One entry of the change log as a reader of one folder sees it.
struct FolderChange {
  enum class Kind : std::uint8_t {
    added,     // a new message (delivery, APPEND, COPY/MOVE target)
    flags,     // flags changed (info carries the new flags and modseq)
    expunged,  // removed (EXPUNGE, MOVE source, another program deleted the file)
  };
  Kind kind = Kind::added;
  MessageInfo info;  // expunged: uid and modseq only
};

struct FolderChanges {
  FolderStatus status;                // the counters after these changes
  std::vector<FolderChange> changes;  // ascending modseq; at most one entry per uid (the last)
};

enum class FlagOp : std::uint8_t { set, add, remove };

struct StoreFlagsResult {
  std::vector<MessageInfo> changed;     // messages whose flags changed (new modseq)
  std::vector<std::uint32_t> modified;  // RFC 7162 UNCHANGEDSINCE failures: uids not changed
};

// The UIDs a COPY/MOVE/APPEND produced (RFC 4315 UIDPLUS COPYUID/APPENDUID).
struct CopyResult {
  std::uint32_t uidvalidity = 0;
  std::vector<std::uint32_t> source_uids;  // in ascending order, the ones that existed
  std::vector<std::uint32_t> target_uids;  // the new uids, same order
};

struct AppendResult {
  std::uint32_t uidvalidity = 0;
  std::uint32_t uid = 0;
  std::string content_id;  // MessageInfo::content_id of the new message (its JMAP Email id)
};

// What text search looks in (RFC 9051 §6.4.4 BODY / TEXT): the FTS index answers a
// superset; the caller confirms with the message's contents when it must be exact.
enum class TextField : std::uint8_t { body, text };

struct QuotaUsage {
  std::uint64_t bytes_used = 0;
  std::uint64_t messages = 0;
};

// Called after a change to one of the account's folders became durable (a session in
// IDLE wakes up, another session's next command reports it). Runs on the Env's executor.
using ChangeListener = UniqueFunction<void(std::string_view folder, std::uint64_t modseq)>;

class ChangeSubscription {
 public:
  virtual ~ChangeSubscription() = default;  // unsubscribes
};

class MailStore : public MailboxStore {
 public:
  // ---------------------------------------------------------------- accounts
  // MailboxStore::ensure_mailbox(user) creates the account with INBOX and the RFC 6154
  // folders (Drafts, Sent, Trash, Junk, Archive), all subscribed. deliver_parts() stores
  // into each user's INBOX (new UIDs, change log, listeners told).
  // Errc::not_found from every call below for an account that does not exist.
  virtual rt::Task<Result<QuotaUsage>> usage(std::string user) = 0;

  // ---------------------------------------------------------------- folders
  virtual rt::Task<Result<std::vector<FolderInfo>>> list_folders(std::string user) = 0;
  // Errc::exists when it exists; Errc::invalid for a bad name (empty, empty component,
  // leading/trailing delimiter, control characters, longer than 1,000 octets).
  // Missing parents are created (\Noselect-free: they become real folders).
  virtual rt::Task<Status> create_folder(std::string user, std::string name, SpecialUse use) = 0;
  // Errc::invalid for INBOX; Errc::not_found. Children stay (they keep their names).
  virtual rt::Task<Status> delete_folder(std::string user, std::string name) = 0;
  // Renames the folder and its children. Renaming INBOX moves its messages into a new
  // folder `to` and leaves INBOX empty (RFC 9051 §6.3.6). Errc::exists when `to` exists.
  virtual rt::Task<Status> rename_folder(std::string user, std::string from, std::string to) = 0;
  // Subscriptions may name folders that do not exist (RFC 9051 §6.3.7).
  virtual rt::Task<Status> set_subscribed(std::string user, std::string name, bool subscribed) = 0;
  virtual rt::Task<Result<std::vector<std::string>>> list_subscriptions(std::string user) = 0;
  virtual rt::Task<Result<FolderStatus>> folder_status(std::string user, std::string name) = 0;

  // ---------------------------------------------------------------- messages
  // The folder's state now (SELECT). Picks up files other programs added or removed.
  virtual rt::Task<Result<FolderSnapshot>> open_folder(std::string user, std::string name) = 0;
  // What changed in the folder after `since_modseq` (a session's resync, CONDSTORE
  // CHANGEDSINCE, QRESYNC): expunges included while the log still holds them; when it no
  // longer does (since_modseq older than the log's horizon), Errc::expired — reopen.
  virtual rt::Task<Result<FolderChanges>> changes_since(std::string user, std::string name,
                                                       std::uint64_t since_modseq) = 0;
  // IMAP4rev1 \Recent (RFC 3501 §2.3.2): a message is recent in exactly one session, the
  // first that SELECTs the folder after it arrived (as Dovecot does). The folder keeps the
  // first uid not yet claimed; returns it, and when `claim`, moves it up to `up_to_uid` (the
  // caller's UIDNEXT), so the caller alone shows uids [returned, up_to_uid) as \Recent.
  // `claim` false (EXAMINE) only looks. Durable like the other changes, but no MODSEQ: it
  // is not a change of any message.
  virtual rt::Task<Result<std::uint32_t>> claim_recent(std::string user, std::string name, std::uint32_t up_to_uid,
                                                       bool claim) = 0;
  // `internal_date` 0 = now. Errc::not_found for no such folder (TRYCREATE), Errc::no_space
  // over the account's quota (RFC 9208 OVERQUOTA).
  virtual rt::Task<Result<AppendResult>> append(std::string user, std::string folder, std::string content,
                                                Flags flags, std::int64_t internal_date) = 0;
  // The message's bytes. Errc::not_found when expunged meanwhile.
  virtual rt::Task<Result<std::string>> read(std::string user, std::string folder, std::uint32_t uid) = 0;
  // Up to `max_bytes` of the message from `offset` (fewer only at its end, empty past it):
  // POP3 RETR of a large message in pieces. Errc::not_found when expunged meanwhile.
  virtual rt::Task<Result<std::string>> read_range(std::string user, std::string folder, std::uint32_t uid,
                                                   std::uint64_t offset, std::size_t max_bytes) = 0;
  // Several messages' bytes, read concurrently (FETCH of many bodies), in the order of
  // `uids`; an entry is Errc::not_found for a message expunged meanwhile.
  virtual rt::Task<Result<std::vector<Result<std::string>>>> read_many(std::string user, std::string folder,
                                                                       std::vector<std::uint32_t> uids) = 0;
  // Applies `op` with `flags` to `uids` (ascending; unknown uids ignored). With
  // `unchanged_since`, messages whose modseq is greater are left alone and listed in
  // `modified` (RFC 7162 §3.1.3).
  virtual rt::Task<Result<StoreFlagsResult>> store_flags(std::string user, std::string folder,
                                                         std::vector<std::uint32_t> uids, FlagOp op, Flags flags,
                                                         std::optional<std::uint64_t> unchanged_since) = 0;
  virtual rt::Task<Result<CopyResult>> copy(std::string user, std::string from, std::vector<std::uint32_t> uids,
                                            std::string to) = 0;
  // COPY then EXPUNGE of the sources, atomically (RFC 6851).
  virtual rt::Task<Result<CopyResult>> move(std::string user, std::string from, std::vector<std::uint32_t> uids,
                                            std::string to) = 0;
  // Removes these uids (ascending; unknown ones ignored); returns the ones removed.
  virtual rt::Task<Result<std::vector<std::uint32_t>>> expunge(std::string user, std::string folder,
                                                               std::vector<std::uint32_t> uids) = 0;
  // The header blocks (up to and including the empty line, at most 64 KiB each) of these
  // uids, in order; an empty string for a uid that does not exist. Kept beside the index,
  // so SEARCH HEADER/SUBJECT, ENVELOPE and BODY[HEADER.FIELDS] need no message file.
  virtual rt::Task<Result<std::vector<std::string>>> read_headers(std::string user, std::string folder,
                                                                  std::vector<std::uint32_t> uids) = 0;
  // Full-text candidates (FTS): every uid whose field may contain all of `terms`; a
  // superset of the true matches. Errc::unsupported when the backend has no index.
  virtual rt::Task<Result<std::vector<std::uint32_t>>> search_text(std::string user, std::string folder,
                                                                   TextField field, std::vector<std::string> terms) = 0;

  // ---------------------------------------------------------------- notifications
  virtual std::unique_ptr<ChangeSubscription> subscribe(std::string user, ChangeListener listener) = 0;
};

}  // namespace mail::store
