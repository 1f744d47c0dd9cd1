// MailboxView: the selected mailbox as one IMAP session sees it — the message sequence
// numbers (RFC 9051 §2.3.1.2: dense, 1..N, ascending UID), each message's flags and MODSEQ
// as last told to the client, and the store's changes not yet told. The store moves on
// under the session (deliveries, other sessions); the view reports changes only when the
// protocol lets it: new messages (EXISTS) and flag changes (FETCH) after any command,
// expunges only when no FETCH, STORE or SEARCH is running (RFC 9051 §7.5.1, §7.4.1).
// Pure data and logic: no I/O, no Env; the IMAP session adapter feeds it store results.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "store/mail_store.h"

namespace mail::node::imapsrv {

// How expunges are told (RFC 7162 §3.2.10: VANISHED once QRESYNC is enabled).
enum class ExpungeStyle : std::uint8_t { expunge, vanished };

class MailboxView {
 public:
  MailboxView() = default;
  MailboxView(std::string folder, store::FolderSnapshot snapshot, bool read_only);

  const std::string& folder() const noexcept { return folder_; }
  bool read_only() const noexcept { return read_only_; }
  std::uint32_t uidvalidity() const noexcept { return status_.uidvalidity; }
  std::uint32_t uidnext() const noexcept { return status_.uidnext; }
  // The highest MODSEQ the client has been told about (RFC 7162 HIGHESTMODSEQ).
  std::uint64_t highest_modseq() const noexcept { return status_.highestmodseq; }
  const store::FolderStatus& status() const noexcept { return status_; }

  // Messages by sequence number: message(seq) for 1 <= seq <= size().
  std::uint32_t size() const noexcept { return static_cast<std::uint32_t>(messages_.size()); }
  const store::MessageInfo& message(std::uint32_t seq) const;
  // The sequence number of `uid`, or nullopt.
  std::optional<std::uint32_t> seq_of_uid(std::uint32_t uid) const noexcept;
  std::uint32_t max_uid() const noexcept { return messages_.empty() ? 0 : messages_.back().uid; }
  // The seq of the first message with uid >= `uid` (size()+1 when none).
  std::uint32_t lower_bound_uid(std::uint32_t uid) const noexcept;
  // \Recent for IMAP4rev1 clients (RFC 3501 §2.3.2): the uids this session claimed from
  // the store (MailStore::claim_recent) at SELECT and when new mail arrived.
  bool recent(std::uint32_t seq) const;
  std::uint32_t recent_count() const noexcept;
  // Uids [from_uid, to_uid) are recent in this session.
  void add_recent(std::uint32_t from_uid, std::uint32_t to_uid);
  std::uint32_t first_unseen() const noexcept;  // 0 when every message is \Seen

  // The session's own changes, told by its own response: update the view in place (a
  // later resync must not report them again).
  void note_flags(const store::MessageInfo& changed);

  // Takes the store's changes since highest_modseq() (or a full snapshot reread) and
  // returns the untagged responses to send now ("* 3 EXPUNGE\r\n", "* 5 EXISTS\r\n",
  // "* 2 FETCH (FLAGS (\Seen) UID 7)\r\n"...). With `allow_expunge` false, expunged
  // messages stay addressable and are reported by a later call. `with_modseq`: the
  // client enabled CONDSTORE (FETCH responses carry MODSEQ). `rev1`: \Recent shown and
  // "* n RECENT" sent when new mail arrives (the caller claims it first: add_recent).
  // `told` (ascending uids): messages whose flags the running command's own response
  // shows next (STORE, FETCH FLAGS): updated here, not told twice.
  std::string apply(const store::FolderChanges& changes, bool allow_expunge, ExpungeStyle style, bool with_modseq,
                    bool rev1, std::span<const std::uint32_t> told = {});
  // Reports expunges held back by earlier apply() calls (when they become allowed).
  std::string flush_expunges(ExpungeStyle style);
  bool has_pending_expunges() const noexcept { return !pending_expunges_.empty(); }
  // Removes `uids` (the session's own EXPUNGE/MOVE) and returns the responses for them.
  std::string expunge_now(const std::vector<std::uint32_t>& uids, ExpungeStyle style);

  // The flag list as IMAP shows it: "(\Seen \Flagged $Label)" (+ \Recent for rev1).
  std::string flag_list(std::uint32_t seq, bool rev1) const;
  void append_flag_list(std::string& out, std::uint32_t seq, bool rev1) const;
  // "* seq FETCH (UID u FLAGS (...)[ MODSEQ (m)])\r\n" for a flag change (RFC 9051 §7.5.2).
  void append_flags_fetch(std::string& out, std::uint32_t seq, bool rev1, bool with_modseq) const;

  // The SEARCHRES saved result (RFC 5182 "$"): uids.
  std::vector<std::uint32_t>& saved_search() noexcept { return saved_; }
  const std::vector<std::uint32_t>& saved_search() const noexcept { return saved_; }

 private:
  void remove_uids(const std::vector<std::uint32_t>& uids, ExpungeStyle style, std::string& out);

  std::string folder_;
  bool read_only_ = false;
  store::FolderStatus status_;
  std::vector<store::MessageInfo> messages_;  // ascending uid
  // Recent uid ranges [first, second), ascending and disjoint (one per claim that got any).
  std::vector<std::pair<std::uint32_t, std::uint32_t>> recent_;
  std::vector<std::uint32_t> pending_expunges_;  // ascending; still in messages_
  std::vector<std::uint32_t> saved_;
};

// "\Seen \Answered ..." words of a flag set, in a fixed order, keywords after.
std::string flag_words(const store::Flags& flags);
void append_flag_words(std::string& out, const store::Flags& flags);

}  // namespace mail::node::imapsrv
