// LocalDelivery: the node service that answers RCPT for local recipients and stores an
// accepted message durably in every recipient's Maildir before the 250 (DESIGN.md
// "nothing acknowledged is ever lost"). Written against Env only.
#pragma once

#include <string>

#include "proto/smtp/envelope.h"
#include "proto/smtp/reply.h"
#include "runtime/env.h"
#include "runtime/task.h"
#include "store/directory.h"

namespace mail::store {
class MaildirStore;
}

namespace mail::node {

struct DeliveryResult {
  smtp::Reply reply;     // 250 2.0.0 Ok: queued as <id> / 451 4.3.0 / 452 4.3.1 / 554 ...
  std::string queue_id;  // empty when not stored
};

class LocalDelivery {
 public:
  LocalDelivery(rt::Env& env, const store::Directory& directory, store::MaildirStore& maildirs);

  // RCPT verdict: 250 2.1.5 for a local user, 550 5.1.1 unknown user, 554 5.7.1 relay
  // access denied for non-local domains (relay arrives with its own issue).
  smtp::Reply check_recipient(const smtp::Path& path) const;

  // Prepends the Received: trace header (RFC 5321 §4.4) and stores the message once per
  // distinct local user; completes only when every copy is durable.
  rt::Task<DeliveryResult> deliver(const smtp::Envelope& envelope, std::string content);

 private:
  rt::Env& env_;
  const store::Directory& directory_;
  store::MaildirStore& maildirs_;
};

}  // namespace mail::node
