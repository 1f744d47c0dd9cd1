// ClientSession: AUTH (RFC 4954 §4, §6) once EHLO is answered — after STARTTLS when TLS is
// used — with PLAIN and an initial response (RFC 4616 §2) or LOGIN (334 prompts for the
// user and the password), the first the server offers in ClientAuth::mechanisms order.
// It never sends a password without TLS unless ClientAuth::plaintext_without_tls, and never
// runs a transaction unless the server answered 235. No I/O; no credentials in history().
#include <algorithm>

#include "core/assert.h"
#include "proto/sasl/base64.h"
#include "proto/smtp/client_session_impl.h"

namespace mail::smtp {

namespace {

bool offered(const Capabilities& caps, sasl::Mechanism m) {
  // caps.auth is upper-cased by parse_capabilities; to_string(m) is upper-case too.
  return std::find(caps.auth.begin(), caps.auth.end(), sasl::to_string(m)) != caps.auth.end();
}

bool implemented(sasl::Mechanism m) noexcept { return m == sasl::Mechanism::plain || m == sasl::Mechanism::login; }

}  // namespace

bool is_valid_client_auth(const ClientAuth& a) noexcept {
  if (a.user.empty() || a.user.size() > sasl::kIdentityBytesMax) return false;
  if (a.user.find('\0') != std::string::npos) return false;
  return a.password.find('\0') == std::string::npos;
}

// Called once TLS is settled (established, refused, not wanted or not offered).
void ClientSession::Impl::after_tls_decided(Instant now) {
  if (cfg.auth && !authenticated) return start_auth(now);
  become_ready(now);
}

std::variant<sasl::Mechanism, Reply> ClientSession::Impl::check_auth() const {
  MAIL_ASSERT(cfg.auth.has_value());
  const ClientAuth& a = *cfg.auth;
  const auto usable = std::find_if(a.mechanisms.begin(), a.mechanisms.end(),
                                   [&](sasl::Mechanism m) { return implemented(m) && offered(caps, m); });
  if (usable == a.mechanisms.end()) {
    // We were given credentials because this server (a submission port, a smarthost)
    // expects them. Going on without AUTH would only earn 530 at every MAIL (RFC 4954 §6),
    // or worse, have the mail taken as unauthenticated; so fail here, with that reply, made
    // up locally. Our server hides PLAIN/LOGIN before TLS, so this is also what a missing
    // STARTTLS looks like.
    return local_reply(530, 7, 0,
                       caps.auth.empty() ? "authentication required, but the server does not offer AUTH"
                                         : "authentication required, but the server offers no mechanism we use");
  }
  // PLAIN and LOGIN put the password on the wire as base64: only inside TLS (RFC 4954 §4,
  // RFC 8314 §3), unless the configuration says the path is safe (loopback).
  if (!tls && !a.plaintext_without_tls)
    return local_reply(538, 7, 11, "refusing to send a password without TLS (RFC 4954 section 4)");
  return *usable;
}

void ClientSession::Impl::start_auth(Instant now) {
  MAIL_ASSERT(cfg.auth.has_value());
  MAIL_ASSERT(!authenticated);
  auto checked = check_auth();
  if (const Reply* refusal = std::get_if<Reply>(&checked)) return quit_after_failure(*refusal, true, now);
  const ClientAuth& a = *cfg.auth;
  auth_mechanism = std::get<sasl::Mechanism>(checked);
  auth_responses.clear();
  if (auth_mechanism == sasl::Mechanism::plain) {
    // RFC 4616 §2: [authzid] NUL authcid NUL passwd; no authzid (act as ourselves). The
    // initial response saves a round trip (RFC 4954 §4).
    std::string message;
    message.reserve(a.user.size() + a.password.size() + 2);
    message.push_back('\0');
    message.append(a.user).push_back('\0');
    message.append(a.password);
    send_cmd("AUTH PLAIN " + sasl::base64_encode(message), Cmd::auth, 0, now);
  } else {
    MAIL_ASSERT(auth_mechanism == sasl::Mechanism::login);
    auth_responses.push_back(sasl::base64_encode(a.user));
    auth_responses.push_back(sasl::base64_encode(a.password));
    send_cmd("AUTH LOGIN", Cmd::auth, 0, now);
  }
  enter(ClientState::auth);
}

void ClientSession::Impl::on_auth(const Reply& r, Instant now) {
  MAIL_ASSERT(st == ClientState::auth);
  MAIL_ASSERT(cfg.auth.has_value());
  if (r.code == 334) {
    // A continuation: LOGIN's prompts get the user, then the password. One more than we
    // have answers (or any for PLAIN, whose response went with the command) is cancelled
    // with "*" (RFC 4954 §4); the server then answers 501 and the session gives up below.
    std::string line = "*";
    if (!auth_responses.empty()) {
      line = std::move(auth_responses.front());
      auth_responses.pop_front();
    }
    return send_cmd(std::move(line), Cmd::auth, 0, now);
  }
  auth_responses.clear();
  if (r.code == 235) {
    authenticated = true;
    events.emplace_back(ev::Authenticated{auth_mechanism, cfg.auth->user});
    return become_ready(now);
  }
  // 535 (bad credentials), 534/538 (mechanism), 454 (temporary), 501 (cancelled): no
  // transaction can succeed on this connection. Each fails with the server's own reply, so
  // the caller can tell a bad password (5xx: do not retry) from a transient failure (4xx).
  if (r.code >= 400) return quit_after_failure(r, false, now);
  protocol_error("AUTH reply " + reply_summary(r));
}

}  // namespace mail::smtp
