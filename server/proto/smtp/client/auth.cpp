// ClientSession: AUTH (RFC 4954 §4, §6) once EHLO is answered — after STARTTLS when TLS is
// used — with the first mechanism in ClientAuth::mechanisms that the server offers and we
// may use now: SCRAM-SHA-256 (RFC 5802 §5, RFC 7677; the server must prove itself with its
// ServerSignature), PLAIN with an initial response (RFC 4616 §2), or LOGIN (334 prompts for
// the user and the password). It never sends a password in cleartext without TLS unless
// ClientAuth::plaintext_without_tls, and never runs a transaction unless the server answered
// 235. No I/O; the Crypto (hashes, nonce) is the caller's; no credentials in history().
#include <algorithm>

#include "core/assert.h"
#include "proto/sasl/base64.h"
#include "proto/smtp/client_session_impl.h"

namespace mail::smtp {

namespace {

constexpr std::size_t kScramNonceChars = 24;

bool offered(const Capabilities& caps, sasl::Mechanism m) {
  // caps.auth is upper-cased by parse_capabilities; to_string(m) is upper-case too.
  return std::find(caps.auth.begin(), caps.auth.end(), sasl::to_string(m)) != caps.auth.end();
}

bool implemented(const ClientAuth& a, sasl::Mechanism m) noexcept {
  return m != sasl::Mechanism::scram_sha_256 || a.crypto != nullptr;
}

// PLAIN and LOGIN put the password on the wire (base64 is no protection).
bool sends_password(sasl::Mechanism m) noexcept { return m != sasl::Mechanism::scram_sha_256; }

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
  bool any_offered = false;
  for (sasl::Mechanism m : a.mechanisms) {
    if (!implemented(a, m) || !offered(caps, m)) continue;
    any_offered = true;
    // RFC 4954 §4, RFC 8314 §3: a password goes only inside TLS, unless the configuration
    // says the path is safe (loopback). SCRAM proves knowledge without sending it.
    if (!sends_password(m) || tls || a.plaintext_without_tls) return m;
  }
  if (any_offered) return local_reply(538, 7, 11, "refusing to send a password without TLS (RFC 4954 section 4)");
  // We were given credentials because this server (a submission port, a smarthost) expects
  // them. Going on without AUTH would only earn 530 at every MAIL (RFC 4954 §6), or worse,
  // have the mail taken as unauthenticated; so fail here, with that reply, made up locally.
  // Our server hides PLAIN/LOGIN before TLS, so this is also what a missing STARTTLS is.
  return local_reply(530, 7, 0,
                     caps.auth.empty() ? "authentication required, but the server does not offer AUTH"
                                       : "authentication required, but the server offers no mechanism we use");
}

void ClientSession::Impl::start_auth(Instant now) {
  MAIL_ASSERT(cfg.auth.has_value());
  MAIL_ASSERT(!authenticated);
  auto checked = check_auth();
  if (const Reply* refusal = std::get_if<Reply>(&checked)) return quit_after_failure(*refusal, true, now);
  const ClientAuth& a = *cfg.auth;
  MAIL_ASSERT(!auth_x.has_value());
  ClientAuthExchange& x = auth_x.emplace();  // in place: ScramClient holds a Crypto& (not assignable)
  x.mechanism = std::get<sasl::Mechanism>(checked);
  std::string line = "AUTH " + std::string(sasl::to_string(x.mechanism));
  switch (x.mechanism) {
    case sasl::Mechanism::plain: {
      // RFC 4616 §2: [authzid] NUL authcid NUL passwd; no authzid (act as ourselves). The
      // initial response saves a round trip (RFC 4954 §4).
      std::string message;
      message.reserve(a.user.size() + a.password.size() + 2);
      message.push_back('\0');
      message.append(a.user).push_back('\0');
      message.append(a.password);
      line += ' ';  // appended, not `" " + s`: GCC 12's -Wrestrict false positive (PR 105329)
      line += sasl::base64_encode(message);
      break;
    }
    case sasl::Mechanism::login: break;  // the 334 prompts ask for user and password
    case sasl::Mechanism::scram_sha_256: {
      MAIL_ASSERT(a.crypto != nullptr);
      x.scram.emplace(*a.crypto, a.user, a.password, sasl::make_scram_nonce(*a.crypto, kScramNonceChars));
      line += ' ';
      line += sasl::base64_encode(x.scram->client_first());  // client-first as initial response
      break;
    }
  }
  send_cmd(std::move(line), Cmd::auth, 0, now);
  enter(ClientState::auth);
}

std::variant<std::string, Reply> ClientSession::Impl::auth_response(std::string_view challenge_b64) {
  MAIL_ASSERT(auth_x.has_value());
  MAIL_ASSERT(cfg.auth.has_value());
  ClientAuthExchange& x = *auth_x;
  const std::uint32_t step = x.continuations++;
  switch (x.mechanism) {
    case sasl::Mechanism::plain: break;  // the response went with the command
    case sasl::Mechanism::login:
      // The prompts' texts ("Username:", "Password:") are informational; order decides.
      if (step == 0) return sasl::base64_encode(cfg.auth->user);
      if (step == 1) return sasl::base64_encode(cfg.auth->password);
      break;
    case sasl::Mechanism::scram_sha_256: {
      const auto message = sasl::base64_decode(challenge_b64);
      if (!message) return local_reply(535, 7, 0, "SCRAM: the server's challenge is not base64");
      if (step == 0) {
        auto final_message = x.scram->client_final(*message);
        if (!final_message) return local_reply(535, 7, 0, "SCRAM: unusable server-first (nonce, salt or iteration count)");
        return sasl::base64_encode(*final_message);
      }
      if (step == 1) {
        // RFC 5802 §5: the client MUST verify ServerSignature; an impostor cannot produce it.
        if (!x.scram->verify_server_final(*message))
          return local_reply(535, 7, 0, "SCRAM: the server's signature is wrong (not the server we hold credentials for)");
        x.server_verified = true;
        return std::string();  // RFC 4954 §4: an empty response acknowledges server-final
      }
      break;
    }
  }
  return local_reply(535, 7, 0, "AUTH " + std::string(sasl::to_string(x.mechanism)) + ": unexpected 334 continuation");
}

void ClientSession::Impl::on_auth(const Reply& r, Instant now) {
  MAIL_ASSERT(st == ClientState::auth);
  MAIL_ASSERT(auth_x.has_value());
  if (r.code == 334 && !auth_x->abandoned) {
    auto answer = auth_response(r.lines.empty() ? std::string_view() : std::string_view(r.lines.front()));
    if (auto* reason = std::get_if<Reply>(&answer)) {
      // Cancel (RFC 4954 §4: "*"); the server then refuses (501) and the session fails below
      // with our reason, which says more than the server's 501.
      auth_x->abandoned = std::move(*reason);
      return send_cmd("*", Cmd::auth, 0, now);
    }
    return send_cmd(std::move(std::get<std::string>(answer)), Cmd::auth, 0, now);
  }
  ClientAuthExchange x = std::move(*auth_x);
  auth_x.reset();
  if (x.abandoned) return quit_after_failure(*x.abandoned, true, now);
  if (r.code == 235) {
    if (x.mechanism == sasl::Mechanism::scram_sha_256 && !x.server_verified) {
      // A 235 without a verified server-final: mutual authentication did not happen.
      return quit_after_failure(local_reply(535, 7, 0, "SCRAM: the server accepted without proving its identity"), true, now);
    }
    authenticated = true;
    events.emplace_back(ev::Authenticated{x.mechanism, cfg.auth->user});
    return become_ready(now);
  }
  // 535 (bad credentials), 534/538 (mechanism), 454 (temporary), 501: no transaction can
  // succeed on this connection. Each fails with the server's own reply, so the caller can
  // tell a bad password (5xx: do not retry) from a transient failure (4xx).
  if (r.code >= 400) return quit_after_failure(r, false, now);
  protocol_error("AUTH reply " + reply_summary(r));
}

}  // namespace mail::smtp
