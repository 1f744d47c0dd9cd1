// Credential derivation and constant-time password checks (RFC 5802 §3).
// Must not branch on secret bytes, nor skip work for unknown users.
#include "proto/sasl/credentials.h"

#include "core/assert.h"

namespace mail::sasl {

bool is_acceptable_username(std::string_view name) noexcept {
  if (name.empty() || name.size() > kIdentityBytesMax) return false;
  for (const char ch : name) {
    if (ch == '%' || ch == '/' || ch == '\\' || ch == '\r' || ch == '\n' || ch == '\0') return false;
  }
  return true;
}

ScramCredentials derive_scram_credentials(Crypto& c, std::string_view password, std::string_view salt,
                                          std::uint32_t iterations) {
  MAIL_ASSERT(iterations > 0);
  ScramCredentials cred;
  cred.salt = std::string(salt);
  cred.iterations = iterations;
  const Digest salted = c.pbkdf2_sha256(password, salt, iterations);
  const Digest client_key = c.hmac_sha256(as_view(salted), "Client Key");
  cred.stored_key = c.sha256(as_view(client_key));
  cred.server_key = c.hmac_sha256(as_view(salted), "Server Key");
  return cred;
}

const ScramCredentials& dummy_credentials() noexcept {
  // Keys no password derives to in practice (all 0xA5): the comparison always fails,
  // after the same PBKDF2 work as a real check with the default iteration count.
  static const ScramCredentials kDummy = [] {
    ScramCredentials d;
    d.salt = std::string("cloudsdial-dummy", 16);
    d.iterations = 4096;
    d.stored_key.fill(0xA5);
    d.server_key.fill(0xA5);
    return d;
  }();
  return kDummy;
}

bool verify_password(Crypto& c, const CredentialStore& store, std::string_view authcid,
                     std::string_view password) {
  const std::optional<ScramCredentials> found = store.lookup(authcid);
  const ScramCredentials& cred = found ? *found : dummy_credentials();
  const ScramCredentials derived = derive_scram_credentials(c, password, cred.salt, cred.iterations);
  const bool match = c.constant_time_equal(as_view(derived.stored_key), as_view(cred.stored_key));
  return match && found.has_value();
}

}  // namespace mail::sasl
