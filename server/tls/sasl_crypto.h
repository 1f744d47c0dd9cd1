// OpenSslCrypto — mail::Crypto (core/crypto.h) over OpenSSL 3 (SHA-256, HMAC, PBKDF2,
// CRYPTO_memcmp, RAND_bytes). Stateless; one instance may serve every SASL exchange of a
// process. Must not be used inside proto/ directly: the caller hands it to sasl::SaslServer.
#pragma once

#include "core/crypto.h"

namespace mail::tls {

class OpenSslCrypto final : public Crypto {
 public:
  Sha256Digest sha256(std::string_view data) override;
  Sha256Digest hmac_sha256(std::string_view key, std::string_view data) override;
  Sha256Digest pbkdf2_sha256(std::string_view password, std::string_view salt, std::uint32_t iterations) override;
  bool constant_time_equal(std::string_view a, std::string_view b) override;
  void random_bytes(std::span<std::uint8_t> out) override;
};

}  // namespace mail::tls
