// AccountView: one account as JMAP sees it (RFC 8621 §2 Mailboxes, §4 Emails), read from
// the MailStore for one request: every folder with its counters and JMAP id, and every
// message grouped into Emails by content id (the copies of one message that COPY/MOVE made
// are one Email in several Mailboxes). States (RFC 8620 §1.6.1 strings):
//   Email and Thread state = the greatest HIGHESTMODSEQ of the folders (the store's one
//   change log, so IMAP and JMAP see one history); Mailbox state = that number and a hash
//   of the folder set (names, ids, roles, subscriptions), so a created, renamed or deleted
//   folder is a new state that Mailbox/changes answers with cannotCalculateChanges.
// Not thread-safe; lives for one method call or request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "runtime/task.h"
#include "store/mail_store.h"

namespace mail::jmap {

struct MailboxEntry {
  store::FolderInfo info;
  store::FolderStatus status;
  std::string id;         // "M<uidvalidity>"
  std::string parent_id;  // "" for a top-level folder
  std::string name;       // the last component of info.name
  std::string role;       // RFC 8621 §2 role ("inbox", "sent", ...), "" for none
  // RFC 8621 §2: threads with an Email here, and those with an unread one here (counted
  // when the view has messages; else the message counts stand in).
  std::uint32_t threads = 0;
  std::uint32_t unread_threads = 0;
};

struct Copy {
  std::size_t mailbox = 0;  // index into AccountView::mailboxes
  store::MessageInfo info;
};

struct EmailEntry {
  std::string content_id;
  std::vector<Copy> copies;  // at least one
  std::string thread_id;     // threads.h: by the conversation's root Message-ID
  [[nodiscard]] const Copy& first() const { return copies.front(); }
};

// content id -> its conversation's root Message-ID ("" for none): read once per message
// from its header block and kept by the caller across loads (contents never change).
using ThreadRoots = std::unordered_map<std::string, std::string>;

class AccountView {
 public:
  // Reads the folders (and with `with_messages`, every folder's messages, grouped into
  // threads with `roots`, whose missing entries are read from the header blocks and added).
  static rt::Task<Result<AccountView>> load(store::MailStore& store, std::string user, bool with_messages,
                                            ThreadRoots* roots = nullptr);

  std::vector<MailboxEntry> mailboxes;
  std::vector<EmailEntry> emails;  // empty unless loaded with messages

  [[nodiscard]] const MailboxEntry* mailbox(std::string_view id) const;
  [[nodiscard]] std::optional<std::size_t> mailbox_index(std::string_view id) const;
  [[nodiscard]] const EmailEntry* email(std::string_view email_id) const;
  // Every Email (index into emails), newest first by receivedAt, then uid: the order of
  // the usual message list, kept so a query need not sort.
  [[nodiscard]] const std::vector<std::size_t>& newest_first() const noexcept { return newest_first_; }
  // The Emails of a thread (indexes into emails), oldest first (RFC 8621 §3); null if none.
  [[nodiscard]] const std::vector<std::size_t>* thread(std::string_view thread_id) const;
  [[nodiscard]] std::uint64_t highest_modseq() const noexcept { return highest_modseq_; }
  [[nodiscard]] bool has_messages() const noexcept { return has_messages_; }
  [[nodiscard]] std::string email_state() const { return std::to_string(highest_modseq_); }
  [[nodiscard]] std::string mailbox_state() const;

 private:
  std::uint64_t highest_modseq_ = 0;
  std::uint64_t folder_set_hash_ = 0;
  bool has_messages_ = false;
  std::unordered_map<std::string, std::size_t> by_content_;
  std::unordered_map<std::string, std::vector<std::size_t>> threads_;
  std::vector<std::size_t> newest_first_;
};

// RFC 8621 §2 roles of RFC 6154 special uses ("inbox" for INBOX).
[[nodiscard]] std::string role_of(const store::FolderInfo& folder);
[[nodiscard]] std::optional<store::SpecialUse> special_use_of_role(std::string_view role);

// RFC 8621 §4.1.1 keywords of IMAP flags and back ($seen <-> \Seen ...; keywords are
// lower case, RFC 8621 §4.1.1). \Deleted has no keyword and is kept as it is.
[[nodiscard]] std::vector<std::string> keywords_of(const store::Flags& flags);
[[nodiscard]] store::Flags flags_of(const std::vector<std::string>& keywords, std::uint8_t keep_deleted);

// RFC 3339 "2024-01-02T03:04:05Z" of Unix seconds, and back (nullopt for other text).
[[nodiscard]] std::string utc_date(std::int64_t unix_seconds);
[[nodiscard]] std::optional<std::int64_t> parse_utc_date(std::string_view text);

}  // namespace mail::jmap
