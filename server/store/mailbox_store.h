// MailboxStore: what the services that deliver or read mail (node/: LocalDelivery today)
// see of mailbox storage, so they never depend on one layout. MaildirStore (maildir.h)
// implements it. Every implementation keeps DESIGN.md's "nothing acknowledged is ever
// lost": a delivery completes ok only once the message and every name for it are durable.
// All I/O through Env; no implementation may read the clock, randomness or files otherwise.
//
// Later (not built yet, only this seam): IMAP and POP3 get an indexed store — SQLite
// metadata (UIDVALIDITY, UIDs, flags, MODSEQ, the change log) beside the Maildir files, then
// PostgreSQL for several front ends — behind this interface. Its read side will grow with
// the protocols (folders, UIDs, flags); callers that only deliver or list and read whole
// messages keep using the calls below and must not need a Maildir type.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "runtime/task.h"

namespace mail::store {

// A user name usable as a mailbox name in every store (a Maildir folder name, a database
// key): non-empty, at most 255 bytes, no '/', no NUL, not starting with '.' (so never "."
// or ".."). Directory user names should satisfy it; the stores refuse others (Errc::invalid).
bool is_valid_mailbox_user(std::string_view user) noexcept;

// One stored message of a mailbox, for the read side. Opaque to callers: they get it from
// list_messages() and hand it back to read_message(). MaildirStore: the path below the
// user's Maildir ("new/<name>" or "cur/<name>:2,<flags>"); an indexed store will also carry
// the UID.
struct StoredMessageRef {
  std::string id;
  friend bool operator==(const StoredMessageRef&, const StoredMessageRef&) = default;
};

class MailboxStore {
 public:
  virtual ~MailboxStore() = default;

  // Creates the user's mailbox durably if it does not exist yet (deliveries do it too;
  // start-up calls it so every configured user has one before the first message).
  // Errc::invalid for a user name that fails is_valid_mailbox_user().
  virtual rt::Task<Status> ensure_mailbox(std::string user) = 0;

  // Stores the message, being `parts` in order (e.g. a trace-header block and the body as
  // received, never joined in memory), once into each distinct user of `users` (repeats
  // are ignored; the first user's copy is the one written), creating missing mailboxes.
  // Completes ok only when every copy is durable, with the name the store gave the message.
  // On error nothing of this delivery is left in any mailbox (best effort cleanup).
  // Errc::invalid for no users or an invalid user name.
  virtual rt::Task<Result<std::string>> deliver_parts(std::vector<std::string> users, std::vector<std::string> parts) = 0;

  // The same with the message in one piece.
  rt::Task<Result<std::string>> deliver(std::vector<std::string> users, std::string content);

  // Read side (tests, inspection): the user's messages in the store's order.
  virtual rt::Task<Result<std::vector<StoredMessageRef>>> list_messages(std::string user) = 0;
  // Errc::invalid for a ref the store did not hand out; Errc::not_found when it is gone.
  virtual rt::Task<Result<std::string>> read_message(std::string user, StoredMessageRef ref) = 0;
};

}  // namespace mail::store
