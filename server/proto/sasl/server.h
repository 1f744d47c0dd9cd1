// sasl::SaslServer — one server-side SASL exchange (RFC 4422 §3) for SMTP AUTH (RFC 4954),
// IMAP AUTHENTICATE and POP3 AUTH: mechanisms PLAIN (RFC 4616), LOGIN (de-facto) and
// SCRAM-SHA-256 (RFC 5802, RFC 7677; "n"/"y" GS2 flags only, no channel binding).
// Sans-IO: it speaks the base64 line form, never touches a socket, clock or file; randomness
// and hashing come from the caller's Crypto. Drive: start(), then step() per client line
// until the returned Step is success or failure; a new exchange needs a new SaslServer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proto/sasl/credentials.h"
#include "proto/sasl/crypto.h"

namespace mail::sasl {

enum class Mechanism : std::uint8_t { plain, login, scram_sha_256 };
[[nodiscard]] std::optional<Mechanism> parse_mechanism(std::string_view name) noexcept;  // case-insensitive
[[nodiscard]] std::string_view to_string(Mechanism m) noexcept;

enum class Failure : std::uint8_t {
  none,
  cancelled,              // client sent "*" (RFC 4954 §4) -> 501
  malformed,              // bad base64 or mechanism syntax -> 501
  too_long,               // response over SaslLimits -> 500/501
  unknown_mechanism,      // -> 504
  bad_username,           // identity breaks the username rules -> 535
  bad_credentials,        // wrong password or unknown user (never told apart) -> 535
  authz_denied,           // authzid not empty and not equal to authcid -> 535
  channel_binding_unsupported,  // SCRAM "p=" -> 535
};
[[nodiscard]] std::string_view to_string(Failure f) noexcept;

struct SaslLimits {
  std::uint32_t response_b64_bytes_max = 12288;  // one client line, RFC 4954 §4 has none: ours
  std::uint32_t scram_nonce_chars = 24;          // server part of the SCRAM nonce
};

struct Step {
  enum class Kind : std::uint8_t { challenge, success, failure };
  Kind kind = Kind::failure;
  std::string challenge_b64;  // challenge: send as "334 <this>" / "+ <this>"
  Failure failure = Failure::none;
  std::string authcid;        // success: the authenticated identity; bad_credentials/authz_denied: the one tried
  std::string authzid;        // success: empty or equal to authcid
};

class Mech;  // one mechanism's state (mechanism.h)

class SaslServer {
 public:
  SaslServer(Crypto& crypto, const CredentialStore& store, SaslLimits limits = {});
  ~SaslServer();
  SaslServer(const SaslServer&) = delete;
  SaslServer& operator=(const SaslServer&) = delete;

  // Begins an exchange. `initial_b64` is the optional initial response as sent ("=" means
  // an empty one, RFC 4954 §4). Returns the first challenge, or the outcome. Call once.
  [[nodiscard]] Step start(std::string_view mechanism, std::optional<std::string_view> initial_b64);
  // Feeds one client response line (without CRLF). Only valid while the last Step was a
  // challenge. "*" cancels. Returns the next challenge or the outcome.
  [[nodiscard]] Step step(std::string_view response_b64);
  [[nodiscard]] bool done() const noexcept { return done_; }

 private:
  Step finish(Step s);
  Crypto& crypto_;
  const CredentialStore& store_;
  SaslLimits limits_;
  std::unique_ptr<Mech> mech_;
  bool started_ = false;
  bool done_ = false;
};

}  // namespace mail::sasl
