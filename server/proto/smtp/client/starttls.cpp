// ClientSession: STARTTLS (RFC 3207 §4, §4.2). After the 220 nothing the server sent in
// cleartext is read as a reply (response injection, CVE-2011-0411 / Exim CVE-2021-38371);
// after the driver's handshake everything learnt before TLS is forgotten and EHLO is sent
// again. No I/O: the handshake itself is the driver's (out::StartTls).
#include "core/assert.h"
#include "proto/smtp/client_session_impl.h"

namespace mail::smtp {

void ClientSession::Impl::on_starttls(const Reply& r, Instant now) {
  MAIL_ASSERT(st == ClientState::starttls);
  if (r.code == 220) {
    // RFC 3207 §4.2 / CVE-2011-0411 (client side: Exim CVE-2021-38371): nothing the server
    // sent in cleartext after this 220 may be read as a reply. feed() drops the rest of
    // its input once it sees this state, and drops anything fed until tls_established().
    MAIL_ASSERT(inflight.empty());
    parser.reset();
    out.emplace_back(out::StartTls{});
    enter(ClientState::tls_handshake);
    deadline = now + cfg.timeouts.tls_handshake;
    return;
  }
  if (r.code < 400) return protocol_error("STARTTLS reply " + reply_summary(r));
  if (cfg.require_tls)
    return quit_after_failure(local_reply(454, 7, 0, "TLS required but STARTTLS was refused: " + reply_summary(r)), true, now);
  after_tls_decided(now);  // opportunistic TLS: carry on in cleartext (AUTH refuses, unless allowed)
}

void ClientSession::tls_established(Instant now) {
  Impl& s = *impl_;
  if (s.st == ClientState::closed) return;  // e.g. the handshake timer fired first
  MAIL_ASSERT(s.st == ClientState::tls_handshake);
  // RFC 3207 §4.2: forget everything learnt before TLS and say EHLO again.
  s.tls = true;
  s.caps = Capabilities{};
  s.extended = false;
  s.parser.reset();
  s.deadline.reset();
  s.send_cmd("EHLO " + s.cfg.helo_name, Cmd::ehlo, 0, now);
  s.enter(ClientState::ehlo);
}

}  // namespace mail::smtp
