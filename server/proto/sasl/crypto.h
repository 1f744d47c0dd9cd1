// sasl::Crypto — the primitives SCRAM and password checks need, supplied by the caller
// (mail::tls implements it with OpenSSL: tls/sasl_crypto.h). proto stays free of OpenSSL
// and of any random source: randomness for nonces comes only through random_bytes().
// RFC 5802 §2.2 (H, HMAC, Hi), RFC 7677 §3 (SHA-256).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace mail::sasl {

using Digest = std::array<std::uint8_t, 32>;  // SHA-256 output

class Crypto {
 public:
  virtual ~Crypto() = default;
  [[nodiscard]] virtual Digest sha256(std::string_view data) = 0;
  [[nodiscard]] virtual Digest hmac_sha256(std::string_view key, std::string_view data) = 0;
  // Hi(password, salt, i) of RFC 5802 §2.2 == PBKDF2-HMAC-SHA-256 with a 32-octet output.
  [[nodiscard]] virtual Digest pbkdf2_sha256(std::string_view password, std::string_view salt,
                                             std::uint32_t iterations) = 0;
  // True when equal; the time taken depends only on the sizes, never on the contents.
  [[nodiscard]] virtual bool constant_time_equal(std::string_view a, std::string_view b) = 0;
  virtual void random_bytes(std::span<std::uint8_t> out) = 0;
};

inline std::string_view as_view(const Digest& d) noexcept {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

}  // namespace mail::sasl
