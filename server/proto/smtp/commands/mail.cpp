// MAIL FROM (RFC 5321 §4.1.1.2, §3.3) with its parameters: SIZE (RFC 1870), BODY (RFC 6152,
// RFC 3030), SMTPUTF8 (RFC 6531 §3.4), RET/ENVID (RFC 3461), AUTH (RFC 4954 §5, §6). The path and parameter
// grammars live in address.cpp / params.cpp; this file decides and sequences. No I/O.
#include "core/assert.h"
#include "proto/smtp/chars.h"
#include "proto/smtp/session_impl.h"

namespace mail::smtp {

namespace {
Reply mail_syntax() { return Reply::make(501, {5, 5, 4}, "Syntax: MAIL FROM:<address>"); }
}  // namespace

Checked<MailCommand> ServerSession::Impl::check_mail(std::string_view arg) const {
  MAIL_ASSERT(state_ == State::ready);
  MAIL_ASSERT(!pending_);
  // RFC 4954 §6 / RFC 6409 §4.3: a submission listener takes mail only after AUTH.
  if (config_.auth.required && auth_identity_.empty()) return Reply::make(530, {5, 7, 0}, "Authentication required");
  if (!starts_with_nocase(arg, "FROM:")) return mail_syntax();
  std::string_view rest = arg.substr(5);
  // "MAIL FROM: <a@b>": the RFC has no space there, but Postfix and most servers accept
  // one or more, and enough clients send it.
  while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
  if (rest.empty()) return mail_syntax();
  // First pass with UTF-8 allowed only to find where the path ends; whether UTF-8 is
  // acceptable depends on the SMTPUTF8 parameter that follows it (RFC 6531 §3.4).
  PathParse path = parse_path(rest, config_.limits, true, true);
  if (!path.path) return path_error_reply(path.error, true);
  const std::string_view params_text = rest.substr(path.consumed);
  // §4.1.2: Mail-parameters are separated from the path by SP.
  if (!params_text.empty() && params_text.front() != ' ') return mail_syntax();
  MailParamsParse params = parse_mail_params(params_text, extensions());
  if (!params.params) return params.error.reply();
  if (!params.params->smtputf8) {
    const PathParse ascii = parse_path(rest, config_.limits, false, true);
    if (!ascii.path) return path_error_reply(ascii.error, true);  // 553 5.6.7
  }
  return MailCommand{std::move(*path.path), std::move(*params.params)};
}

void ServerSession::Impl::proceed_mail(MailCommand cmd) {
  MAIL_ASSERT(!pending_);
  MAIL_ASSERT(state_ == State::ready);
  const EventId id = next_id();
  emit(ev::MailFrom{id, cmd.path, cmd.params});
  PendingVerdict p;
  p.id = id;
  p.kind = Verb::mail;
  p.path = std::move(cmd.path);
  p.mail_params = std::move(cmd.params);
  pending_ = std::move(p);
}

void ServerSession::Impl::verdict_mail(PendingVerdict p, Reply verdict) {
  MAIL_ASSERT(p.kind == Verb::mail);
  MAIL_ASSERT(state_ == State::ready);
  if (!verdict.positive()) {
    send_refusal(verdict);
    return;
  }
  tx_ = ServerTransaction{};
  Envelope& env = tx_.envelope;
  env.helo = helo_;
  env.extended_hello = extended_;
  env.client_address = info_.remote_address;
  env.tls = tls_active_;
  env.auth_identity = auth_identity_;
  env.mail_from = std::move(p.path);
  env.mail_params = std::move(p.mail_params);
  // RFC 4954 §5: from a client we have not authenticated, AUTH=<mailbox> is not trusted;
  // the transaction goes on as if AUTH=<> had been given.
  if (env.mail_params.auth && auth_identity_.empty()) env.mail_params.auth = "<>";
  enter(State::mail);
  send(verdict);
}

void ServerSession::Impl::on_mail(const Command& c) {
  MAIL_ASSERT(c.spec->id == Verb::mail);
  Checked<MailCommand> checked = check_mail(c.arg);
  if (auto* err = std::get_if<Reply>(&checked)) {
    send_error(*err);  // §4.1.4: "501 ... and the SMTP server MUST stay in the same state"
    return;
  }
  proceed_mail(std::get<MailCommand>(std::move(checked)));
}

}  // namespace mail::smtp
