// OpenSSL 3 implementation of mail::Crypto. Failures of these primitives mean a broken
// OpenSSL install or memory exhaustion: programmer/environment errors, so they assert.
#include "tls/sasl_crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <climits>

#include "core/assert.h"

namespace mail::tls {

Sha256Digest OpenSslCrypto::sha256(std::string_view data) {
  Sha256Digest out{};
  unsigned int len = 0;
  const int ok = EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  MAIL_ASSERT(ok == 1);
  MAIL_ASSERT(len == out.size());
  return out;
}

Sha256Digest OpenSslCrypto::hmac_sha256(std::string_view key, std::string_view data) {
  Sha256Digest out{};
  unsigned int len = 0;
  MAIL_ASSERT(key.size() <= INT_MAX);
  const unsigned char* r = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                                reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  MAIL_ASSERT(r != nullptr);
  MAIL_ASSERT(len == out.size());
  return out;
}

Sha256Digest OpenSslCrypto::pbkdf2_sha256(std::string_view password, std::string_view salt,
                                          std::uint32_t iterations) {
  Sha256Digest out{};
  MAIL_ASSERT(iterations > 0);
  MAIL_ASSERT(iterations <= INT_MAX);
  const int ok = PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                                   reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                                   static_cast<int>(iterations), EVP_sha256(), static_cast<int>(out.size()), out.data());
  MAIL_ASSERT(ok == 1);
  return out;
}

bool OpenSslCrypto::constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;  // sizes are public (digests are fixed-size)
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void OpenSslCrypto::random_bytes(std::span<std::uint8_t> out) {
  MAIL_ASSERT(out.size() <= INT_MAX);
  const int ok = RAND_bytes(out.data(), static_cast<int>(out.size()));
  MAIL_ASSERT(ok == 1);
}

}  // namespace mail::tls
