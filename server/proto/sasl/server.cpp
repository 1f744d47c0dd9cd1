// SaslServer: the mechanism-independent part of an exchange — base64 framing, "*"
// cancellation and "=" empty initial response (RFC 4954 §4), length limits, identity
// rules (RFC 4422 §3.4.1: authzid empty or equal to authcid; no proxy authorization yet).
#include "proto/sasl/server.h"

#include "core/ascii.h"
#include "core/assert.h"
#include "proto/sasl/base64.h"
#include "proto/sasl/mechanism.h"

namespace mail::sasl {

std::optional<Mechanism> parse_mechanism(std::string_view name) noexcept {
  // Registered names are upper-case (RFC 4422 §3.1); a client may send any case.
  auto eq = [&](std::string_view want) { return iequals(name, want); };
  if (eq("PLAIN")) return Mechanism::plain;
  if (eq("LOGIN")) return Mechanism::login;
  if (eq("SCRAM-SHA-256")) return Mechanism::scram_sha_256;
  return std::nullopt;
}

std::string_view to_string(Mechanism m) noexcept {
  switch (m) {
    case Mechanism::plain: return "PLAIN";
    case Mechanism::login: return "LOGIN";
    case Mechanism::scram_sha_256: return "SCRAM-SHA-256";
  }
  return "?";
}

std::string_view to_string(Failure f) noexcept {
  switch (f) {
    case Failure::none: return "none";
    case Failure::cancelled: return "cancelled";
    case Failure::malformed: return "malformed";
    case Failure::too_long: return "too_long";
    case Failure::unknown_mechanism: return "unknown_mechanism";
    case Failure::bad_username: return "bad_username";
    case Failure::bad_credentials: return "bad_credentials";
    case Failure::authz_denied: return "authz_denied";
    case Failure::channel_binding_unsupported: return "channel_binding_unsupported";
  }
  return "?";
}

Step conclude(std::string authcid, std::string authzid, bool verified) {
  if (!is_acceptable_username(authcid)) return failure(Failure::bad_username);
  // Failures name the identity tried, so the application can budget failures per user.
  auto named = [&authcid](Failure f) {
    Step s = failure(f);
    s.authcid = authcid;
    return s;
  };
  if (!verified) return named(Failure::bad_credentials);
  // Checked after the password so a wrong authzid is no oracle for the password.
  if (!authzid.empty() && authzid != authcid) return named(Failure::authz_denied);
  Step s;
  s.kind = Step::Kind::success;
  s.authcid = std::move(authcid);
  s.authzid = std::move(authzid);
  return s;
}

SaslServer::SaslServer(Crypto& crypto, const CredentialStore& store, SaslLimits limits)
    : crypto_(crypto), store_(store), limits_(limits) {}

SaslServer::~SaslServer() = default;

Step SaslServer::finish(Step s) {
  if (s.kind == Step::Kind::challenge) {
    s.challenge_b64 = base64_encode(s.challenge_b64);
  } else {
    done_ = true;
    mech_.reset();  // drop secrets and state now, not at destruction (CVE-2017-15132 class)
  }
  return s;
}

Step SaslServer::start(std::string_view mechanism, std::optional<std::string_view> initial_b64) {
  MAIL_ASSERT(!started_);
  started_ = true;
  const std::optional<Mechanism> m = parse_mechanism(mechanism);
  if (!m) return finish(failure(Failure::unknown_mechanism));
  const MechEnv env{crypto_, store_, limits_};
  switch (*m) {
    case Mechanism::plain: mech_ = make_plain(env); break;
    case Mechanism::login: mech_ = make_login(env); break;
    case Mechanism::scram_sha_256: mech_ = make_scram_sha_256(env); break;
  }
  MAIL_ASSERT(mech_ != nullptr);
  if (!initial_b64) return finish(mech_->start(std::nullopt));
  if (*initial_b64 == "*") return finish(failure(Failure::cancelled));
  if (initial_b64->size() > limits_.response_b64_bytes_max) return finish(failure(Failure::too_long));
  if (*initial_b64 == "=") return finish(mech_->start(std::string_view{}));
  const std::optional<std::string> decoded = base64_decode(*initial_b64);
  if (!decoded || decoded->empty()) return finish(failure(Failure::malformed));
  return finish(mech_->start(std::string_view(*decoded)));
}

Step SaslServer::step(std::string_view response_b64) {
  MAIL_ASSERT(started_);
  MAIL_ASSERT(!done_);
  if (response_b64 == "*") return finish(failure(Failure::cancelled));
  if (response_b64.size() > limits_.response_b64_bytes_max) return finish(failure(Failure::too_long));
  const std::optional<std::string> decoded = base64_decode(response_b64);
  if (!decoded) return finish(failure(Failure::malformed));
  return finish(mech_->step(*decoded));
}

}  // namespace mail::sasl
