// RSET, NOOP, QUIT, VRFY, EXPN, HELP (RFC 5321 §4.1.1.5-10, §3.5.3, §4.1.4: usable at any
// time), and verbs refused on sight (HTTP on port 25, Postfix smtpd_forbidden_commands).
// No I/O.
#include "core/assert.h"
#include "proto/smtp/session_impl.h"

namespace mail::smtp {

void ServerSession::Impl::on_rset(const Command& c) {
  MAIL_ASSERT(c.spec->id == Verb::rset);
  MAIL_ASSERT(!pending_);
  // §4.1.1.5: rset = "RSET" CRLF.
  if (!c.arg.empty()) {
    send_error(Reply::make(501, {5, 5, 4}, "Syntax: RSET"));
    return;
  }
  reset_transaction(true);
  send(Reply::make(250, {2, 0, 0}, "Ok"));
}

void ServerSession::Impl::on_noop(const Command& c) {
  MAIL_ASSERT(c.spec->id == Verb::noop);
  // §4.1.1.9: any parameter string is ignored.
  send(Reply::make(250, {2, 0, 0}, "Ok"));
  MAIL_ASSERT(state_ != State::closed);
}

void ServerSession::Impl::on_quit(const Command& c) {
  MAIL_ASSERT(c.spec->id == Verb::quit);
  // §4.1.1.10: 221, then close. An open transaction is aborted (§4.1.4). Postfix ignores
  // arguments here, and so do we: the client wants to leave either way.
  send(Reply::make(221, {2, 0, 0}, "Bye"));
  close("quit");
  MAIL_ASSERT(state_ == State::closed);
}

void ServerSession::Impl::on_vrfy(const Command& c) {
  MAIL_ASSERT(c.spec->id == Verb::vrfy);
  if (!config_.vrfy_enabled) {
    send_error(Reply::make(502, {5, 5, 1}, "VRFY command is disabled"));
    return;
  }
  if (c.arg.empty()) {
    send_error(Reply::make(501, {5, 5, 4}, "Syntax: VRFY address"));
    return;
  }
  // §3.5.3: 252 when we will not say; never confirms or denies a user (no enumeration).
  send(Reply::make(252, {2, 5, 0}, "Cannot VRFY user, but will accept message and attempt delivery"));
}

void ServerSession::Impl::on_expn(const Command& c) {
  MAIL_ASSERT(c.spec->id == Verb::expn);
  // §3.5.2: lists are never expanded for a client (privacy); 502 as Postfix.
  send_error(Reply::make(502, {5, 5, 1}, "Error: command not implemented"));
}

void ServerSession::Impl::on_help(const Command& c) {
  MAIL_ASSERT(c.spec->id == Verb::help);
  (void)c;
  // §4.1.1.8: 211/214; one line keeps it cheap for junk-limit purposes.
  std::string text = "Commands: EHLO HELO MAIL RCPT DATA";
  if (config_.chunking) text += " BDAT";
  text += " RSET NOOP QUIT VRFY";
  if (config_.starttls_available && !tls_active_) text += " STARTTLS";
  send(Reply::make(214, {2, 0, 0}, std::move(text)));
}

void ServerSession::Impl::on_forbidden(const Command& c) {
  MAIL_ASSERT(c.spec->id == Verb::forbidden);
  (void)c;
  // An HTTP client (often a cross-protocol attack through a browser or proxy): no point
  // answering its other lines. Close at once, as Postfix smtpd_forbidden_commands does.
  send(Reply::make(554, {5, 7, 0}, "Error: HTTP-style command not allowed"));
  close("forbidden command");
}

}  // namespace mail::smtp
