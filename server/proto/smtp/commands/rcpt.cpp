// RCPT TO (RFC 5321 §4.1.1.3, §3.3) with DSN parameters (RFC 3461 §4.1-4.2) and the
// recipient limit (§4.5.3.1.8 at least 100; §4.5.3.1.10 "452 too many recipients").
// The recipient decision itself belongs to the application (ev::RcptTo). No I/O.
#include "core/assert.h"
#include "proto/smtp/chars.h"
#include "proto/smtp/session_impl.h"

namespace mail::smtp {

namespace {
Reply rcpt_syntax() { return Reply::make(501, {5, 5, 4}, "Syntax: RCPT TO:<address>"); }
constexpr std::string_view kPostmaster = "<postmaster>";
}  // namespace

Checked<RcptCommand> ServerSession::Impl::check_rcpt(std::string_view arg) const {
  MAIL_ASSERT(state_ == State::mail || state_ == State::rcpt);
  MAIL_ASSERT(!pending_);
  if (!starts_with_nocase(arg, "TO:")) return rcpt_syntax();
  std::string_view rest = arg.substr(3);
  while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);  // as for MAIL
  if (rest.empty()) return rcpt_syntax();
  RcptCommand cmd;
  std::size_t consumed = 0;
  if (starts_with_nocase(rest, kPostmaster)) {
    // §4.1.1.3: "<Postmaster>" with no domain MUST be accepted (any case); it means the
    // postmaster of this host.
    cmd.path = Path{Mailbox{std::string(rest.substr(1, kPostmaster.size() - 2)), config_.hostname}};
    consumed = kPostmaster.size();
  } else {
    // RFC 6531 §3.4: UTF-8 recipients only in a transaction whose MAIL had SMTPUTF8.
    PathParse path = parse_path(rest, config_.limits, tx_.envelope.mail_params.smtputf8, false);
    if (!path.path) return path_error_reply(path.error, false);
    cmd.path = std::move(*path.path);
    consumed = path.consumed;
  }
  const std::string_view params_text = rest.substr(consumed);
  if (!params_text.empty() && params_text.front() != ' ') return rcpt_syntax();
  RcptParamsParse params = parse_rcpt_params(params_text, extensions());
  if (!params.params) return params.error.reply();
  cmd.params = std::move(*params.params);
  // §4.5.3.1.10: past our recipient buffer, 452 (the client sends the rest later).
  if (tx_.envelope.recipients.size() >= config_.limits.recipients_max)
    return Reply::make(452, {4, 5, 3}, "Error: too many recipients");
  MAIL_ASSERT(!cmd.path.is_null());
  return cmd;
}

void ServerSession::Impl::proceed_rcpt(RcptCommand cmd) {
  MAIL_ASSERT(!pending_);
  MAIL_ASSERT(tx_.envelope.recipients.size() < config_.limits.recipients_max);
  const EventId id = next_id();
  emit(ev::RcptTo{id, cmd.path, cmd.params});
  PendingVerdict p;
  p.id = id;
  p.kind = Verb::rcpt;
  p.path = std::move(cmd.path);
  p.rcpt_params = std::move(cmd.params);
  pending_ = std::move(p);
}

void ServerSession::Impl::verdict_rcpt(PendingVerdict p, Reply verdict) {
  MAIL_ASSERT(p.kind == Verb::rcpt);
  MAIL_ASSERT(state_ == State::mail || state_ == State::rcpt);
  if (!verdict.positive()) {
    send_refusal(verdict);  // relayed as the application worded it
    return;
  }
  tx_.envelope.recipients.push_back(Recipient{std::move(p.path), std::move(p.rcpt_params)});
  if (state_ == State::mail) enter(State::rcpt);
  send(verdict);
}

void ServerSession::Impl::on_rcpt(const Command& c) {
  MAIL_ASSERT(c.spec->id == Verb::rcpt);
  Checked<RcptCommand> checked = check_rcpt(c.arg);
  if (auto* err = std::get_if<Reply>(&checked)) {
    // Postfix smtpd_recipient_overshoot_limit: a client that keeps going past the limit
    // gets as many 452s free again, then they count as errors.
    if (err->code == 452 && tx_.rcpt_overshoot < config_.limits.recipients_max) {
      ++tx_.rcpt_overshoot;
      send(*err);
      return;
    }
    send_error(*err);
    return;
  }
  proceed_rcpt(std::get<RcptCommand>(std::move(checked)));
}

}  // namespace mail::smtp
