// RelayMailHandler: the production MailHandler. It answers MAIL and RCPT with the relay
// policy (proto/smtp/relay_policy.h, the one decision shared with routing) and stores an
// accepted message before the 250: all-local mail straight into the Maildirs (LocalDelivery,
// the fast path), anything with a remote recipient (or a NOTIFY=SUCCESS recipient, whose
// "delivered" report the queue sends) into the outbound queue as ONE durable
// commit for all its recipients (QueueManager; local copies are then delivered from the
// queue), so a 451 never leaves half a message delivered.
// Submission (RFC 6409): an authenticated session's MAIL FROM must be an address of its own
// user (configurable), and a missing Date: or Message-ID: is added (§8.2, §8.3).
// Env only: no Asio, no clock but env.clock(), no randomness but env.rng().fork().
#pragma once

#include <string>

#include "core/prng.h"
#include "node/local_delivery.h"
#include "node/smtp_server.h"
#include "proto/smtp/relay_policy.h"
#include "runtime/env.h"
#include "store/directory.h"

namespace mail::node {

class QueueManager;

struct RelayHandlerConfig {
  // Local domains come from the directory; own addresses and trusted networks from the
  // configuration ([relay] trusted_networks; empty by default: loopback is not trusted).
  smtp::RelayPolicy policy;
  // Submission: MAIL FROM of an authenticated session must be <> or an address that the
  // directory maps to the authenticated user ([submission] sender_must_match).
  bool sender_must_match_login = true;
  // Add Date: and Message-ID: to authenticated submissions lacking them.
  bool add_missing_headers = true;
  std::string hostname;  // Received:/Message-ID: name; empty = env.hostname()
};

class RelayMailHandler final : public MailHandler {
 public:
  // `queue` may be null: no outbound delivery, so no recipient is ever remote-accepted.
  RelayMailHandler(rt::Env& env, const store::Directory& directory, LocalDelivery& local, QueueManager* queue,
                   RelayHandlerConfig config);

  smtp::Reply check_mail_from(const smtp::Path& from, const smtp::MailParams& params,
                              const SessionFacts& facts) override;
  smtp::Reply check_recipient(const smtp::Path& to, const SessionFacts& facts) override;
  rt::Task<DeliveryResult> deliver(const smtp::Envelope& envelope, std::string content) override;

  const RelayHandlerConfig& config() const noexcept { return config_; }

 private:
  std::string_view hostname() const;
  std::string next_unique();
  bool sender_owned_by(const smtp::Path& from, std::string_view login) const;

  rt::Env& env_;
  const store::Directory& directory_;
  LocalDelivery& local_;
  QueueManager* queue_;
  RelayHandlerConfig config_;
  Prng unique_;  // Message-ID tokens
};

// The relay policy for a directory: its domains and our host name (canonical; RFC 5321
// §4.5.1 postmaster@<host>) as local domains, plus `base`'s own addresses and trusted networks.
smtp::RelayPolicy relay_policy_for(const store::Directory& directory, std::string_view hostname, smtp::RelayPolicy base);

// 553 5.7.1 <a@b>: Sender address rejected: not owned by user u (Postfix's text).
smtp::Reply sender_mismatch_reply(const smtp::Path& from, std::string_view user);

}  // namespace mail::node
