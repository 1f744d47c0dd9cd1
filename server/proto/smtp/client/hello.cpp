// ClientSession, first stage: the server's greeting (RFC 5321 §3.1, §4.2: 554 refuses
// service), EHLO and the HELO fallback when EHLO is refused with 5xx (§3.2, §4.1.4), then
// STARTTLS when wanted or ready. No I/O; the capabilities come from parse_capabilities.
#include "core/assert.h"
#include "proto/smtp/client_session_impl.h"

namespace mail::smtp {

void ClientSession::Impl::on_greeting(const Reply& r, Instant now) {
  MAIL_ASSERT(st == ClientState::greeting);
  if (r.code == 220) {
    if (quit_requested && queue.empty()) {
      send_cmd("QUIT", Cmd::quit, 0, now);
      return enter(ClientState::quit);
    }
    send_cmd("EHLO " + cfg.helo_name, Cmd::ehlo, 0, now);
    return enter(ClientState::ehlo);
  }
  // RFC 5321 §3.1: a 554 greeting refuses service; the client should QUIT. A transient
  // refusal is handled the same way (the transactions are retried elsewhere).
  if (r.code >= 400) return quit_after_failure(r, false, now);
  protocol_error("greeting " + reply_summary(r));
}

void ClientSession::Impl::on_ehlo(Reply r, Instant now) {
  MAIL_ASSERT(st == ClientState::ehlo);
  if (is_2xx(r)) {
    caps = parse_capabilities(r);
    extended = true;
    return after_hello(now);
  }
  // RFC 5321 §3.2 / §4.1.4: a server that does not know EHLO answers 5xx; retry with HELO.
  if (r.code >= 500) {
    send_cmd("HELO " + cfg.helo_name, Cmd::helo, 0, now);
    return enter(ClientState::helo);
  }
  if (r.code >= 400) return quit_after_failure(r, false, now);
  protocol_error("EHLO reply " + reply_summary(r));
}

void ClientSession::Impl::on_helo(const Reply& r, Instant now) {
  MAIL_ASSERT(st == ClientState::helo);
  if (is_2xx(r)) {
    caps = Capabilities{};
    extended = false;
    return after_hello(now);
  }
  if (r.code >= 400) return quit_after_failure(r, false, now);
  protocol_error("HELO reply " + reply_summary(r));
}

void ClientSession::Impl::after_hello(Instant now) {
  if (!tls && cfg.use_starttls && caps.starttls) {
    send_cmd("STARTTLS", Cmd::starttls, 0, now);
    return enter(ClientState::starttls);
  }
  if (cfg.require_tls && !tls)
    return quit_after_failure(local_reply(454, 7, 0, "TLS required but the server does not offer STARTTLS"), true, now);
  after_tls_decided(now);
}

void ClientSession::Impl::become_ready(Instant now) {
  events.emplace_back(ev::SessionReady{caps, extended, tls});
  enter(ClientState::ready);
  start_next(now);
}

}  // namespace mail::smtp
