// EHLO and HELO (RFC 5321 §4.1.1.1, §4.1.4: a new EHLO resets the transaction like RSET)
// and the EHLO keyword list (RFC 2920, 1870, 6152, 6531, 3030, 3461, 2034, 3207, 4954).
// Pure check / mutating proceed split; no I/O. Replies to EHLO/HELO carry no enhanced
// code (RFC 2034 §3 (4)) except their errors.
#include "core/assert.h"
#include "proto/smtp/session_impl.h"

namespace mail::smtp {

std::optional<Reply> ServerSession::Impl::check_hello(std::string_view arg, bool extended) const {
  MAIL_ASSERT(state_ != State::closed);
  MAIL_ASSERT(state_ != State::data);
  if (arg.empty()) return Reply::make(501, {5, 5, 4}, extended ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
  if (!is_acceptable_helo(arg)) return Reply::make(501, {5, 5, 4}, "Error: invalid EHLO/HELO hostname");
  return std::nullopt;
}

void ServerSession::Impl::proceed_hello(std::string_view arg, bool extended) {
  MAIL_ASSERT(!arg.empty());
  // §4.1.4: "the SMTP server MUST clear all buffers and reset the state exactly as if a
  // RSET command had been issued".
  reset_transaction(true);
  if (state_ == State::greeting) enter(State::ready);
  helo_.assign(arg);
  extended_ = extended;
  emit(ev::Helo{helo_, extended});
  send(extended ? ehlo_reply() : Reply::make(250, {}, config_.hostname));
  MAIL_ASSERT(state_ == State::ready);
}

Reply ServerSession::Impl::ehlo_reply() const {
  Reply r;
  r.code = 250;
  r.lines.push_back(config_.hostname);  // §4.1.1.1 ehlo-ok-rsp: Domain first
  if (config_.pipelining) r.lines.emplace_back("PIPELINING");
  r.lines.push_back("SIZE " + std::to_string(config_.limits.message_bytes_max));  // RFC 1870 §4
  // RFC 3207 §4: only where it can succeed and not once TLS is on (§4.2).
  if (config_.starttls_available && !tls_active_) r.lines.emplace_back("STARTTLS");
  // RFC 4954 §3; PLAIN/LOGIN only under TLS (§4, §6) unless configured otherwise.
  if (config_.auth.enabled()) {
    std::string auth = auth_keyword_line();
    if (!auth.empty()) r.lines.push_back(std::move(auth));
  }
  if (config_.enhanced_status_codes) r.lines.emplace_back("ENHANCEDSTATUSCODES");
  if (config_.eight_bit_mime) r.lines.emplace_back("8BITMIME");
  if (config_.binary_mime && config_.chunking) r.lines.emplace_back("BINARYMIME");  // RFC 3030 §3 (3)
  if (config_.dsn) r.lines.emplace_back("DSN");
  if (config_.smtputf8) r.lines.emplace_back("SMTPUTF8");
  if (config_.chunking) r.lines.emplace_back("CHUNKING");
  MAIL_ASSERT(r.lines.size() >= 2);
  MAIL_ASSERT(r.enhanced.empty());
  return r;
}

void ServerSession::Impl::on_ehlo(const Command& c) {
  MAIL_ASSERT(c.spec->id == Verb::ehlo);
  if (auto err = check_hello(c.arg, true)) {
    send_error(*err);  // §4.1.4: the state stays as it was
    return;
  }
  proceed_hello(c.arg, true);
}

void ServerSession::Impl::on_helo(const Command& c) {
  MAIL_ASSERT(c.spec->id == Verb::helo);
  if (auto err = check_hello(c.arg, false)) {
    send_error(*err);
    return;
  }
  proceed_hello(c.arg, false);
}

}  // namespace mail::smtp
