// Test helpers for SASL: an in-memory CredentialStore and a Crypto whose randomness is
// scripted (for the RFC 7677 §3 vector). Real hashing comes from tls::OpenSslCrypto.
#pragma once

#include <map>
#include <string>

#include "proto/sasl/credentials.h"
#include "tls/sasl_crypto.h"

namespace mail::sasl::testing {

class ScriptedCrypto final : public Crypto {
 public:
  Digest sha256(std::string_view d) override { return real_.sha256(d); }
  Digest hmac_sha256(std::string_view k, std::string_view d) override { return real_.hmac_sha256(k, d); }
  Digest pbkdf2_sha256(std::string_view p, std::string_view s, std::uint32_t i) override {
    ++pbkdf2_calls;
    return real_.pbkdf2_sha256(p, s, i);
  }
  bool constant_time_equal(std::string_view a, std::string_view b) override { return real_.constant_time_equal(a, b); }
  // Produces bytes that map to `nonce` under the SCRAM nonce alphabet, else real randomness.
  void random_bytes(std::span<std::uint8_t> out) override {
    if (nonce.empty()) return real_.random_bytes(out);
    for (std::size_t i = 0; i < out.size(); ++i) {
      const int c = static_cast<unsigned char>(nonce[i % nonce.size()]);
      out[i] = static_cast<std::uint8_t>(c - 0x21 - (c > ',' ? 1 : 0));
    }
  }
  std::string nonce;
  int pbkdf2_calls = 0;

 private:
  tls::OpenSslCrypto real_;
};

class MapStore final : public CredentialStore {
 public:
  std::optional<ScramCredentials> lookup(std::string_view user) const override {
    auto it = users.find(std::string(user));
    if (it == users.end()) return std::nullopt;
    return it->second;
  }
  std::map<std::string, ScramCredentials> users;
};

}  // namespace mail::sasl::testing
