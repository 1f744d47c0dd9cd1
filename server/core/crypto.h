// Crypto — the hash, MAC, key-derivation and random primitives that protocol code needs,
// as an interface supplied by the caller. core names no implementation: mail::tls supplies
// the OpenSSL one (tls/sasl_crypto.h), fuzz/ a cheap fake. Keeping the interface here lets
// tls implement it without depending on proto, and proto (SASL) use it without OpenSSL.
// RFC 5802 §2.2 (H, HMAC, Hi), RFC 7677 §3 (SHA-256), RFC 8018 §5.2 (PBKDF2).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace mail {

using Sha256Digest = std::array<std::uint8_t, 32>;

class Crypto {
 public:
  virtual ~Crypto() = default;
  [[nodiscard]] virtual Sha256Digest sha256(std::string_view data) = 0;
  [[nodiscard]] virtual Sha256Digest hmac_sha256(std::string_view key, std::string_view data) = 0;
  // PBKDF2-HMAC-SHA-256 with a 32-octet output (== Hi(password, salt, i) of RFC 5802 §2.2).
  [[nodiscard]] virtual Sha256Digest pbkdf2_sha256(std::string_view password, std::string_view salt,
                                                   std::uint32_t iterations) = 0;
  // True when equal; the time taken depends only on the sizes, never on the contents.
  [[nodiscard]] virtual bool constant_time_equal(std::string_view a, std::string_view b) = 0;
  virtual void random_bytes(std::span<std::uint8_t> out) = 0;
};

inline std::string_view as_view(const Sha256Digest& d) noexcept {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

}  // namespace mail
