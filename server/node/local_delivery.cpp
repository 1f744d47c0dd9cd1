// LocalDelivery: RCPT verdicts from the Directory and durable Maildir delivery with a
// Received: header (RFC 5321 §4.4). Env only; time from env.clock().wall_now(), queue
// ids from env.rng().fork("queue-id"). Must not answer 250 before MailboxStore::deliver_parts
// has completed successfully (DESIGN.md "nothing acknowledged is ever lost").
#include "node/local_delivery.h"

#include "runtime/buggify.h"

#include <vector>

#include "proto/smtp/received.h"
#include "store/mailbox_store.h"

namespace mail::node {

smtp::Reply recipient_ok_reply() { return smtp::Reply::make(250, {2, 1, 5}, "Ok"); }

smtp::Reply unknown_user_reply(const smtp::Path& path) {
  return smtp::Reply::make(550, {5, 1, 1}, path.to_string() + ": Recipient address rejected: User unknown in local recipient table");
}

smtp::Reply relay_denied_reply(const smtp::Path& path) {
  return smtp::Reply::make(554, {5, 7, 1}, path.to_string() + ": Relay access denied");
}

smtp::Reply queued_reply(std::string_view queue_id) {
  return smtp::Reply::make(250, {2, 0, 0}, "Ok: queued as " + std::string(queue_id));
}

smtp::Reply storage_error_reply(Errc code) {
  if (code == Errc::no_space) return smtp::Reply::make(452, {4, 3, 1}, "Insufficient system storage");
  return smtp::Reply::make(451, {4, 3, 0}, "Error: queue file write error");
}

std::string transaction_log_line(std::string_view queue_id, const smtp::Envelope& envelope, std::uint64_t size_bytes,
                                 const smtp::Reply& reply) {
  std::string out(queue_id.empty() ? std::string_view("NOQUEUE") : queue_id);
  out += ": from=";
  out += envelope.mail_from.to_string();
  out += " to=";
  for (std::size_t i = 0; i < envelope.recipients.size(); ++i) {
    if (i > 0) out += ',';
    out += envelope.recipients[i].path.to_string();
  }
  out += " size=";
  out += std::to_string(size_bytes);
  out += " result=";
  out += std::to_string(reply.code);
  return out;
}

LocalDelivery::LocalDelivery(rt::Env& env, const store::Directory& directory, store::MailboxStore& mailboxes,
                             LocalDeliveryConfig config)
    : env_(env), directory_(directory), mailboxes_(mailboxes), config_(std::move(config)), queue_ids_(env.rng().fork("queue-id")) {}

smtp::Reply LocalDelivery::check_recipient(const smtp::Path& path) const {
  if (path.is_null()) return smtp::Reply::make(501, {5, 1, 3}, "Bad recipient address syntax");
  switch (resolve(*path.mailbox).kind) {
    case store::Lookup::local_user: return recipient_ok_reply();
    case store::Lookup::unknown_user: return unknown_user_reply(path);
    case store::Lookup::not_local: return relay_denied_reply(path);
  }
  MAIL_UNREACHABLE();
}

store::LookupResult LocalDelivery::resolve(const smtp::Mailbox& mb) const {
  auto found = directory_.lookup(mb.local_part, mb.domain);
  if (found.kind != store::Lookup::not_local) return found;
  const std::string_view host = config_.hostname.empty() ? env_.hostname() : std::string_view(config_.hostname);
  const auto& domains = directory_.config().domains;
  if (!domains.empty() && store::canonical_domain(mb.domain) == store::canonical_domain(host) &&
      store::canonical_domain(mb.local_part) == "postmaster") {
    return directory_.lookup("postmaster", domains.front());
  }
  return found;
}

std::string make_queue_id(Prng& rng) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::uint64_t v = rng.next_u64();
  std::string id(12, '0');
  for (int i = 11; i >= 0; --i) {
    id[static_cast<std::size_t>(i)] = hex[v & 0xfu];
    v >>= 4;
  }
  return id;
}

std::string LocalDelivery::next_queue_id() { return make_queue_id(queue_ids_); }

rt::Task<DeliveryResult> LocalDelivery::deliver(const smtp::Envelope& envelope, std::string content) {
  // Recipients were checked at RCPT time; look them up again (the directory may have been
  // reloaded since). Users in RCPT order, repeats included: the store keeps one copy per
  // distinct user and creates missing mailboxes, so neither happens here as well.
  std::vector<std::string> users;
  for (const auto& r : envelope.recipients) {
    if (r.path.is_null()) continue;
    auto found = resolve(*r.path.mailbox);
    if (found.kind != store::Lookup::local_user) continue;
    MAIL_ASSERT(!found.user.empty());
    users.push_back(std::move(found.user));
  }
  if (users.empty()) co_return DeliveryResult{smtp::Reply::make(554, {5, 5, 1}, "Error: no valid recipients"), {}, 0};

  std::string queue_id = next_queue_id();
  const std::string_view host = config_.hostname.empty() ? env_.hostname() : std::string_view(config_.hostname);
  // RFC 5321 §4.4: the final-delivery server inserts Return-Path (the reverse-path, "<>"
  // for a bounce) above the trace header it adds.
  // The two are written ahead of the content as received, not joined with it: a large
  // message is never copied.
  std::string head = "Return-Path: " + envelope.mail_from.to_string() + "\r\n";
  head += smtp::build_received(envelope, host, queue_id, env_.clock().wall_now());
  const std::uint64_t size_bytes = head.size() + content.size();

  // BUGGIFY: a transient storage failure before anything is stored is always legal (451).
  if (MAIL_BUGGIFY(env_, "local-delivery.transient-failure")) {
    co_return DeliveryResult{storage_error_reply(Errc::io), {}, 0};
  }
  std::vector<std::string> parts;
  parts.push_back(std::move(head));
  parts.push_back(std::move(content));
  auto stored = co_await mailboxes_.deliver_parts(std::move(users), std::move(parts));
  if (!stored.ok()) {
    env_.log().write(rt::LogLevel::warn, queue_id + ": maildir delivery failed: " + std::string(to_string(stored.code())) +
                                             ": " + stored.error().detail);
    co_return DeliveryResult{storage_error_reply(stored.code()), {}, 0};
  }
  MAIL_ASSERT(!stored->empty());
  co_return DeliveryResult{queued_reply(queue_id), std::move(queue_id), size_bytes};
}

rt::Task<std::vector<smtp::Reply>> LocalDelivery::deliver_queued(const smtp::Path& sender,
                                                                 const std::vector<smtp::Path>& recipients,
                                                                 std::string content, std::string_view queue_id) {
  std::vector<smtp::Reply> replies(recipients.size());
  std::vector<std::string> users;
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    const smtp::Path& r = recipients[i];
    auto found = r.is_null() ? store::LookupResult{} : resolve(*r.mailbox);
    if (found.kind != store::Lookup::local_user) {
      replies[i] = unknown_user_reply(r);
      continue;
    }
    users.push_back(std::move(found.user));
    replies[i] = smtp::Reply::make(250, {2, 0, 0}, "Ok: delivered to mailbox");
  }
  if (users.empty()) co_return replies;
  std::vector<std::string> parts;
  parts.push_back("Return-Path: " + sender.to_string() + "\r\n");
  parts.push_back(std::move(content));
  auto stored = co_await mailboxes_.deliver_parts(std::move(users), std::move(parts));
  if (!stored.ok()) {
    env_.log().write(rt::LogLevel::warn, std::string(queue_id) + ": maildir delivery failed: " +
                                             std::string(to_string(stored.code())) + ": " + stored.error().detail);
    for (auto& reply : replies) {
      if (reply.positive()) reply = storage_error_reply(stored.code());
    }
  }
  co_return replies;
}

}  // namespace mail::node
