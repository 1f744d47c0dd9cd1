// LocalDelivery: the node service that answers RCPT for local recipients and stores an
// accepted message durably in every recipient's Maildir before the 250 (DESIGN.md
// "nothing acknowledged is ever lost"). Written against Env only: no clock but
// env.clock(), no randomness but env.rng().fork("queue-id"), no files but through the
// store::MailboxStore interface (it never knows the mailbox layout).
// Reply texts follow Postfix so existing tooling and habits recognise them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/prng.h"
#include "proto/smtp/envelope.h"
#include "proto/smtp/reply.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "store/directory.h"

namespace mail::store {
class MailboxStore;
}

namespace mail::node {

struct DeliveryResult {
  smtp::Reply reply;     // 250 2.0.0 Ok: queued as <id> / 451 4.3.0 / 452 4.3.1 / 554 ...
  std::string queue_id;  // empty when not stored
  std::uint64_t size_bytes = 0;  // stored size (with our Received:), 0 when not stored
};

struct LocalDeliveryConfig {
  std::string hostname;  // "by" name in Received:; empty = env.hostname()
};

class LocalDelivery {
 public:
  LocalDelivery(rt::Env& env, const store::Directory& directory, store::MailboxStore& mailboxes,
                LocalDeliveryConfig config = {});

  // RCPT verdict: 250 2.1.5 for a local user, 550 5.1.1 unknown user, 554 5.7.1 relay
  // access denied for non-local domains (relay arrives with its own issue), 501 5.1.3 for
  // the null path. Pure: no I/O.
  smtp::Reply check_recipient(const smtp::Path& path) const;

  // Prepends the Received: trace header (RFC 5321 §4.4) and stores the message once per
  // distinct local user (one MailboxStore::deliver_parts call, which creates missing
  // mailboxes); completes only when every copy is durable. Replies: 250 2.0.0
  // "Ok: queued as <id>"; 452 4.3.1 on no_space; 451 4.3.0 on any other storage error;
  // 554 5.5.1 when no recipient is (any longer) local. Storage errors are logged (warn);
  // the per-transaction line is the caller's (transaction_log_line()).
  rt::Task<DeliveryResult> deliver(const smtp::Envelope& envelope, std::string content);

  // Final delivery of a message from the outbound queue (its content already carries our
  // Received:): Return-Path is added (RFC 5321 §4.4), and every recipient that is a local
  // user now gets one copy (one deliver_parts for all). Per recipient, in order: 250 when
  // stored, 550 5.1.1 when it is not (any longer) a local user, the storage error (451 /
  // 452) when the store failed.
  rt::Task<std::vector<smtp::Reply>> deliver_queued(const smtp::Path& sender, const std::vector<smtp::Path>& recipients,
                                                    std::string content, std::string_view queue_id);

  // Whether `mailbox` is a local user now (RCPT-time rule, also for queued recipients).
  bool is_local_user(const smtp::Mailbox& mailbox) const { return resolve(mailbox).kind == store::Lookup::local_user; }

 private:
  // Directory lookup, plus RFC 5321 §4.5.1: "Postmaster" at our own host name is the
  // postmaster of the first local domain (the session turns a bare <Postmaster> into that).
  store::LookupResult resolve(const smtp::Mailbox& mailbox) const;
  std::string next_queue_id();

  rt::Env& env_;
  const store::Directory& directory_;
  store::MailboxStore& mailboxes_;
  LocalDeliveryConfig config_;
  Prng queue_ids_;
};

// A queue id: 12 upper-case hex digits (48 bits from `rng`), Postfix's short id shape. The
// one spelling for LocalDelivery's and the outbound queue's ids.
std::string make_queue_id(Prng& rng);

// Replies of this service, exposed for the driver and tests.
smtp::Reply recipient_ok_reply();                                 // 250 2.1.5 Ok
smtp::Reply unknown_user_reply(const smtp::Path& path);           // 550 5.1.1 ...
smtp::Reply relay_denied_reply(const smtp::Path& path);           // 554 5.7.1 ...
smtp::Reply queued_reply(std::string_view queue_id);              // 250 2.0.0 Ok: queued as
smtp::Reply storage_error_reply(Errc code);                       // 452 4.3.1 / 451 4.3.0

// One log line per transaction (Postfix-like):
//   "<queue id>: from=<a@b> to=<c@d>,<e@f> size=<n> result=<code>"
// "NOQUEUE" stands for an empty queue id; the null sender is "from=<>".
std::string transaction_log_line(std::string_view queue_id, const smtp::Envelope& envelope, std::uint64_t size_bytes,
                                 const smtp::Reply& reply);

}  // namespace mail::node
