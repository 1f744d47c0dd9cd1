// ClientSession: submitted transactions — local validation (paths, DSN values, bare CR/LF:
// SMTP smuggling, outbound), the checks against what the server offered (SMTPUTF8, 8BITMIME,
// BINARYMIME, SIZE), starting a transaction with MAIL (RFC 5321 §4.1.1.2, RFC 2920 §3.1
// pipelined groups) and RSET after a failed one (§4.1.1.5). No I/O.
#include <algorithm>

#include "core/assert.h"
#include "proto/message/dot_stuff.h"
#include "proto/smtp/client_session_impl.h"

namespace mail::smtp {

namespace {

constexpr std::size_t kEnvidBytesMax = 100;  // RFC 3461 §4.4, the xtext as sent
constexpr std::size_t kOrcptBytesMax = 500;  // RFC 3461 §4.2, "type;xtext" as sent

bool is_atom(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

// RFC 3461 §4.4: ENVID is printable US-ASCII. ORCPT and AUTH= values: no controls.
bool printable_ascii(std::string_view v) noexcept {
  for (char c : v)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) return false;
  return true;
}
bool no_controls(std::string_view v) noexcept {
  for (char c : v)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) == 0x7F) return false;
  return true;
}

bool valid_path(const Path& p, const SmtpLimits& limits, bool reverse) {
  if (!reverse && p.is_null()) return false;
  // Re-parse what we would send: a Path built by hand (e.g. from Python) must not smuggle
  // CRLF, spaces or anything else the grammar forbids into our command line.
  const std::string wire = p.to_string();
  const PathParse parsed = parse_path(wire, limits, /*allow_utf8=*/true, /*allow_null=*/reverse);
  return parsed.path.has_value() && parsed.consumed == wire.size();
}

bool needs_smtputf8(const MailTransaction& tx) noexcept {
  if (tx.mail_params.smtputf8) return true;
  if (tx.mail_from.mailbox && tx.mail_from.mailbox->needs_smtputf8()) return true;
  for (const auto& r : tx.recipients)
    if (r.path.mailbox && r.path.mailbox->needs_smtputf8()) return true;
  return false;
}

std::string normalized_content(const MailTransaction& tx) {
  std::string c = tx.content;
  // RFC 5321 §4.1.1.4: the content ends with CRLF before the terminator. BINARYMIME content
  // is opaque octets framed by length; it is sent as given.
  if (tx.mail_params.body != BodyType::binary_mime && !c.empty() &&
      (c.size() < 2 || c[c.size() - 2] != '\r' || c.back() != '\n'))
    c.append("\r\n");
  return c;
}

}  // namespace

std::optional<Reply> ClientSession::Impl::check_submit(const MailTransaction& tx) const {
  if (tx.recipients.empty()) return local_reply(554, 5, 1, "transaction has no recipients");
  if (!valid_path(tx.mail_from, cfg.limits, true)) return local_reply(553, 1, 7, "invalid sender address");
  for (const auto& r : tx.recipients) {
    if (!valid_path(r.path, cfg.limits, false)) return local_reply(553, 1, 3, "invalid recipient address");
    if (r.params.orcpt_type && !is_atom(*r.params.orcpt_type)) return local_reply(554, 5, 4, "invalid ORCPT type");
    if (r.params.orcpt) {
      // RFC 3461 §4.2: the value as sent, addr-type ";" xtext, is at most 500 characters.
      const std::size_t sent = r.params.orcpt_type.value_or("rfc822").size() + 1 + xtext_encode(*r.params.orcpt).size();
      if (r.params.orcpt->empty() || !no_controls(*r.params.orcpt)) return local_reply(554, 5, 4, "invalid ORCPT");
      if (sent > kOrcptBytesMax) return local_reply(554, 5, 4, "ORCPT too long (RFC 3461 section 4.2)");
    }
  }
  if (const auto& envid = tx.mail_params.envid) {
    // RFC 3461 §4.4: at most 100 characters as sent (xtext), printable US-ASCII.
    if (!printable_ascii(*envid)) return local_reply(554, 5, 4, "invalid ENVID");
    if (xtext_encode(*envid).size() > kEnvidBytesMax) return local_reply(554, 5, 4, "ENVID too long (RFC 3461 section 4.4)");
  }
  if (const auto& auth = tx.mail_params.auth) {
    if (auth->empty() || !no_controls(*auth)) return local_reply(554, 5, 4, "invalid AUTH= value");
    if (xtext_encode(*auth).size() > kOrcptBytesMax) return local_reply(554, 5, 4, "AUTH= value too long");
  }
  // SMTP smuggling, outbound side (SECURITY.md §1, Dovecot CVE-2026-33604): content with
  // a bare CR or LF is refused, never "fixed" and never sent. BINARYMIME goes by BDAT,
  // framed by length, where bare octets cannot end anything.
  if (tx.mail_params.body != BodyType::binary_mime && has_bare_cr_or_lf(tx.content))
    return local_reply(554, 6, 0, "message content has a bare CR or LF; refusing to send it");
  return std::nullopt;
}

// Checks that depend on what the server advertised (pure: returns the refusal).
std::optional<Reply> ClientSession::Impl::check_against_server(const MailTransaction& tx, std::uint64_t size) const {
  if (needs_smtputf8(tx) && !caps.smtputf8)
    return local_reply(553, 6, 7, "server does not support SMTPUTF8 (RFC 6531)");
  // RFC 6152 §3: without 8BITMIME "the client SMTP must not, under any circumstances"
  // send an octet above 0x7F, whatever BODY the caller declared (7BIT content that is not
  // 7-bit included). We bounce rather than convert: conversion changes signed content.
  const bool eight_bit = tx.mail_params.body == BodyType::eight_bit_mime ||
                         (tx.mail_params.body == BodyType::seven_bit &&
                          std::any_of(tx.content.begin(), tx.content.end(),
                                      [](char ch) { return static_cast<unsigned char>(ch) > 0x7F; }));
  if (eight_bit && !caps.eight_bit_mime)
    return local_reply(554, 6, 3, "server does not support 8BITMIME (RFC 6152)");
  if (tx.mail_params.body == BodyType::binary_mime && !(caps.binary_mime && caps.chunking))
    return local_reply(554, 6, 3, "server does not support BINARYMIME with CHUNKING (RFC 3030)");
  if (caps.size && caps.size_max > 0 && size > caps.size_max)
    return local_reply(552, 3, 4, "message size exceeds the server's fixed maximum (RFC 1870)");
  return std::nullopt;
}

void ClientSession::Impl::start_next(Instant now) {
  MAIL_ASSERT(st == ClientState::ready);
  MAIL_ASSERT(inflight.empty());
  MAIL_ASSERT(!active);
  // A loop, not recursion: a long queue of refused transactions must not deepen the stack.
  while (!queue.empty()) {
    Queued q = std::move(queue.front());
    queue.pop_front();
    std::string content = normalized_content(q.tx);
    const bool utf8 = needs_smtputf8(q.tx);
    std::string mail = format_mail_from(q.tx.mail_from, q.tx.mail_params, content.size(), caps, utf8);
    std::optional<Reply> refusal = check_against_server(q.tx, content.size());
    if (!refusal && mail.size() + 2 > cfg.limits.command_line_bytes_tolerated)
      refusal = local_reply(554, 5, 4, "MAIL command line too long (RFC 5321 section 4.5.3.1.4)");
    for (std::size_t i = 0; !refusal && i < q.tx.recipients.size(); ++i)
      if (format_rcpt_to(q.tx.recipients[i], caps).size() + 2 > cfg.limits.command_line_bytes_tolerated)
        refusal = local_reply(554, 5, 4, "RCPT command line too long (RFC 5321 section 4.5.3.1.4)");
    if (refusal) {
      emit_failure(q.id, q.tx, *refusal, true);
      continue;
    }
    return begin(std::move(q), std::move(content), std::move(mail), now);
  }
  if (quit_requested) {
    send_cmd("QUIT", Cmd::quit, 0, now);
    enter(ClientState::quit);
  }
}

void ClientSession::Impl::begin(Queued q, std::string content, std::string mail, Instant now) {
  MAIL_ASSERT(!active);
  MAIL_ASSERT(!q.tx.recipients.empty());
  Active a;
  a.id = q.id;
  a.pipelined = cfg.use_pipelining && caps.pipelining;
  a.bdat = q.tx.mail_params.body == BodyType::binary_mime || (cfg.use_chunking && caps.chunking);
  a.wire = a.bdat ? std::move(content) : message::dot_stuff(content);
  a.rcpt.assign(q.tx.recipients.size(), std::nullopt);
  a.tx = std::move(q.tx);
  std::string().swap(a.tx.content);  // only the wire form is needed from here on
  active = std::move(a);
  send_cmd(std::move(mail), Cmd::mail, 0, now);
  if (active->pipelined) {
    // RFC 2920 §3.1: MAIL, RCPT and DATA go in one group; DATA is last in it.
    for (std::size_t i = 0; i < active->tx.recipients.size(); ++i) send_rcpt(i, now);
    if (!active->bdat) send_cmd("DATA", Cmd::data, 0, now);
  }
  enter(ClientState::mail);
}

void ClientSession::Impl::on_mail(Reply r, Instant now) {
  MAIL_ASSERT(st == ClientState::mail);
  MAIL_ASSERT(active.has_value());
  Active& a = *active;
  a.mail_ok = is_2xx(r);
  a.mail_reply = std::move(r);
  if (a.mail_ok) {
    if (!a.pipelined) send_rcpt(0, now);
    return enter(ClientState::rcpt);
  }
  if (a.pipelined) return enter(ClientState::rcpt);  // the RCPT (and DATA) replies still come
  finish_active(*a.mail_reply, false, false);
  enter(ClientState::ready);
  start_next(now);
}

// After a failed transaction: RSET if the server still holds a MAIL (RFC 5321 §4.1.1.5).
void ClientSession::Impl::after_failure(bool mail_ok, Instant now) {
  if (mail_ok) {
    send_cmd("RSET", Cmd::rset, 0, now);
    enter(ClientState::rset);
  } else {
    enter(ClientState::ready);
    start_next(now);
  }
}

void ClientSession::Impl::on_rset(const Reply& r, Instant now) {
  MAIL_ASSERT(st == ClientState::rset);
  if (is_2xx(r)) {
    enter(ClientState::ready);
    return start_next(now);
  }
  // The server and we disagree about its state: give up on this connection.
  quit_after_failure(local_reply(451, 5, 0, "RSET refused: " + reply_summary(r)), true, now);
}

}  // namespace mail::smtp
