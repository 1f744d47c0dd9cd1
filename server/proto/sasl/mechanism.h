// Internal: the per-mechanism state machines behind SaslServer. They see decoded octets
// and return raw challenges (SaslServer does base64). Not for use outside proto/sasl.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proto/sasl/server.h"

namespace mail::sasl {

class Mech {
 public:
  virtual ~Mech() = default;
  // Steps carry raw (decoded) challenge octets in challenge_b64; SaslServer encodes them.
  [[nodiscard]] virtual Step start(std::optional<std::string_view> initial) = 0;
  [[nodiscard]] virtual Step step(std::string_view response) = 0;
};

struct MechEnv {
  Crypto& crypto;
  const CredentialStore& store;
  SaslLimits limits;
};

std::unique_ptr<Mech> make_plain(MechEnv env);
std::unique_ptr<Mech> make_login(MechEnv env);
std::unique_ptr<Mech> make_scram_sha_256(MechEnv env);

inline Step challenge(std::string raw) {
  Step s;
  s.kind = Step::Kind::challenge;
  s.challenge_b64 = std::move(raw);
  return s;
}
inline Step failure(Failure f) {
  Step s;
  s.kind = Step::Kind::failure;
  s.failure = f;
  return s;
}
// Applies the identity rules shared by every mechanism, then the password/proof verdict.
Step conclude(std::string authcid, std::string authzid, bool verified);

}  // namespace mail::sasl
