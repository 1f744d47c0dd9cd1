// SASL SCRAM-SHA-256 client side (RFC 5802 §3, §5, §7; RFC 7677): builds client-first and
// client-final, checks the server's nonce, salt and iteration count, and verifies the
// ServerSignature in server-final (mutual authentication). GS2 header "n,," only: no
// channel binding, no authzid. Sans-IO: it sees decoded messages (the SMTP/IMAP layer does
// base64); hashing and the nonce's randomness come from the caller's Crypto. SASLprep (RFC
// 4013) is not applied yet, as on the server side.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proto/sasl/crypto.h"

namespace mail::sasl {

// A nonce of `chars` printable characters (0x21..0x7E except ',', RFC 5802 §7) drawn from
// c.random_bytes. The server's nonce part is made the same way.
[[nodiscard]] std::string make_scram_nonce(Crypto& c, std::size_t chars);

class ScramClient {
 public:
  // RFC 7677 §4 asks for at least 4096 iterations; above this a server could make us spend
  // seconds of CPU per attempt (PBKDF2), so we refuse (UserDb stores up to 100,000,000).
  static constexpr std::uint32_t kIterationsMin = 4096;
  static constexpr std::uint32_t kIterationsMax = 1'000'000;

  // `nonce` must be printable without ',' (make_scram_nonce); `user` non-empty.
  ScramClient(Crypto& crypto, std::string user, std::string password, std::string nonce);

  // "n,,n=<saslname>,r=<nonce>".
  [[nodiscard]] std::string client_first() const;
  // From server-first ("r=<nonce>,s=<salt>,i=<n>"): client-final with the proof, or
  // nullopt when server-first is malformed, does not extend our nonce, or its iteration
  // count is outside [kIterationsMin, kIterationsMax]. Call once, after client_first().
  [[nodiscard]] std::optional<std::string> client_final(std::string_view server_first);
  // True only when `server_final` is "v=<ServerSignature>" and the signature matches
  // (compared in constant time). False for "e=..." and anything else.
  [[nodiscard]] bool verify_server_final(std::string_view server_final);

 private:
  Crypto& crypto_;
  std::string user_, password_, nonce_;
  std::optional<Digest> server_signature_;  // expected, once client_final() succeeded
};

}  // namespace mail::sasl
