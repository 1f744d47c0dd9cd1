// RelayMailHandler (see header). Must not: accept a remote recipient from a client the
// policy does not allow, split an address differently from routing (route_of() is the only
// split), or say 250 before every recipient's copy is durable (local store or queue).
#include "node/relay_handler.h"

#include <algorithm>
#include <utility>

#include "core/ascii.h"
#include "core/assert.h"
#include "node/queue_manager.h"
#include "proto/message/submission_headers.h"
#include "proto/smtp/received.h"

namespace mail::node {

smtp::RelayPolicy relay_policy_for(const store::Directory& directory, std::string_view hostname, smtp::RelayPolicy base) {
  base.local_domains.clear();
  for (const auto& d : directory.config().domains) base.local_domains.push_back(smtp::canonical_domain(d));
  if (!hostname.empty()) {
    std::string host = smtp::canonical_domain(hostname);
    if (std::find(base.local_domains.begin(), base.local_domains.end(), host) == base.local_domains.end()) {
      base.local_domains.push_back(std::move(host));
    }
  }
  return base;
}

smtp::Reply sender_mismatch_reply(const smtp::Path& from, std::string_view user) {
  std::string text = from.to_string();
  text += ": Sender address rejected: not owned by user ";
  text += user;
  return smtp::Reply::make(553, {5, 7, 1}, std::move(text));
}

RelayMailHandler::RelayMailHandler(rt::Env& env, const store::Directory& directory, LocalDelivery& local,
                                   QueueManager* queue, RelayHandlerConfig config)
    : env_(env),
      directory_(directory),
      local_(local),
      queue_(queue),
      config_(std::move(config)),
      unique_(env.rng().fork("message-id")) {
  config_.policy = relay_policy_for(directory_, hostname(), std::move(config_.policy));
}

std::string_view RelayMailHandler::hostname() const {
  return config_.hostname.empty() ? env_.hostname() : std::string_view(config_.hostname);
}

std::string RelayMailHandler::next_unique() {
  static constexpr char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::uint64_t v = unique_.next_u64();
  std::string out;
  for (int i = 0; i < 12; ++i) {
    out += alphabet[v % 36];
    v /= 36;
  }
  return out;
}

// RFC 6409 §6.1: the submission server may check that the sender is the user's own.
smtp::Reply RelayMailHandler::check_mail_from(const smtp::Path& from, const smtp::MailParams& params,
                                              const SessionFacts& facts) {
  if (facts.auth_identity.empty() || !config_.sender_must_match_login || from.is_null()) {
    return MailHandler::check_mail_from(from, params, facts);
  }
  if (!sender_owned_by(from, facts.auth_identity)) return sender_mismatch_reply(from, facts.auth_identity);
  return MailHandler::check_mail_from(from, params, facts);
}

// The login's own addresses: every address the directory maps to the user of that name,
// and, while logins and mailboxes are separate lists (a login without a [[users]] entry),
// <login>@ or <login>+detail@ any local domain (ASCII case-insensitively).
bool RelayMailHandler::sender_owned_by(const smtp::Path& from, std::string_view login) const {
  MAIL_ASSERT(!from.is_null());
  const auto found = directory_.lookup(from.mailbox->local_part, from.mailbox->domain);
  if (found.kind == store::Lookup::local_user) return iequals(found.user, login);
  if (found.kind != store::Lookup::unknown_user) return false;  // not a local domain
  auto local = store::unquoted_local_part(from.mailbox->local_part);
  if (!local) return false;
  const char sep = directory_.config().subaddress_separator;
  std::string_view base = *local;
  if (sep != '\0') base = base.substr(0, base.find(sep));
  return iequals(base, login);
}

smtp::Reply RelayMailHandler::check_recipient(const smtp::Path& to, const SessionFacts& facts) {
  if (to.is_null()) return local_.check_recipient(to);
  const smtp::RelayClient client{!facts.auth_identity.empty(), facts.client_address};
  const smtp::RelayDecision decision = smtp::decide_relay(*to.mailbox, client, config_.policy);
  switch (decision.verdict) {
    case smtp::RelayVerdict::local: return local_.check_recipient(to);
    case smtp::RelayVerdict::relay:
      if (queue_ == nullptr) return relay_denied_reply(to);  // no outbound delivery configured
      return recipient_ok_reply();
    case smtp::RelayVerdict::deny: return decision.reply;
  }
  MAIL_UNREACHABLE();
}

rt::Task<DeliveryResult> RelayMailHandler::deliver(const smtp::Envelope& envelope, std::string content) {
  // RFC 6409 §8.2 / §8.3: the submission server adds what the client left out.
  if (config_.add_missing_headers && !envelope.auth_identity.empty()) {
    const std::string unique = next_unique();
    std::string fixups = message::submission_fixups(content, env_.clock().wall_now(), unique, hostname());
    if (!fixups.empty()) content.insert(0, fixups);
  }
  const bool any_remote = std::any_of(envelope.recipients.begin(), envelope.recipients.end(), [&](const auto& r) {
    return !r.path.is_null() && smtp::route_of(*r.path.mailbox, config_.policy).where == smtp::Destination::remote;
  });
  // RFC 3461 §5.2.3: a "delivered" report for NOTIFY=SUCCESS comes from the queue too.
  const bool success_report = !envelope.mail_from.is_null() &&
                              std::any_of(envelope.recipients.begin(), envelope.recipients.end(),
                                          [](const auto& r) { return r.params.notify.success; });
  if ((!any_remote && !success_report) || queue_ == nullptr) {
    co_return co_await local_.deliver(envelope, std::move(content));
  }

  // One durable commit for every recipient: the queue delivers the local copies too.
  std::string id = queue_->new_id();
  std::vector<std::string> parts;
  parts.push_back(smtp::build_received(envelope, hostname(), id, env_.clock().wall_now()));
  parts.push_back(std::move(content));
  co_return co_await queue_->accept(std::move(id), envelope, std::move(parts));
}

}  // namespace mail::node
