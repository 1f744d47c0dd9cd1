// Stored SCRAM-SHA-256 credentials (RFC 5802 §3, RFC 7677), the lookup interface the
// caller supplies, password verification for PLAIN/LOGIN against them, and the username
// rules of SECURITY.md §5.13. Verification of an unknown user runs the same derivation
// against a dummy credential, so timing does not reveal whether the user exists.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proto/sasl/crypto.h"

namespace mail::sasl {

struct ScramCredentials {
  std::string salt;                  // raw octets
  std::uint32_t iterations = 4096;   // RFC 7677 §4: at least 4096
  Digest stored_key{};               // H(HMAC(SaltedPassword, "Client Key"))
  Digest server_key{};               // HMAC(SaltedPassword, "Server Key")
};

class CredentialStore {
 public:
  virtual ~CredentialStore() = default;
  // Returns the user's credentials, or nullopt when there is no such user.
  [[nodiscard]] virtual std::optional<ScramCredentials> lookup(std::string_view authcid) const = 0;
  // False when no user exists at all: then AUTH is not offered (nobody could log in, and a
  // server that advertises AUTH with no users only invites guessing).
  [[nodiscard]] virtual bool has_users() const { return true; }
};

inline constexpr std::size_t kIdentityBytesMax = 255;  // RFC 4616 §2, SECURITY.md §5.13

// True when `name` is a usable identity: 1..255 octets, no '%', '/', '\', CR, LF or NUL.
[[nodiscard]] bool is_acceptable_username(std::string_view name) noexcept;

// Derives credentials from a password (what `user add` stores). Never fails.
[[nodiscard]] ScramCredentials derive_scram_credentials(Crypto& c, std::string_view password,
                                                        std::string_view salt, std::uint32_t iterations);

// A fixed credential with no known password, used in place of absent users.
[[nodiscard]] const ScramCredentials& dummy_credentials() noexcept;

// True only when `authcid` exists in `store` and `password` matches its StoredKey.
// Unknown users cost the same derivation (against dummy_credentials()) and return false.
[[nodiscard]] bool verify_password(Crypto& c, const CredentialStore& store, std::string_view authcid,
                                   std::string_view password);

}  // namespace mail::sasl
