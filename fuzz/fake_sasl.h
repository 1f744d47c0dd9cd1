// Cheap deterministic SASL stand-ins for fuzz targets: a Crypto that "hashes" with FNV-1a
// (fuzzing explores parsing, not cryptography; real PBKDF2 would make every run slow) and a
// CredentialStore with one user, "user" / "pencil". Fuzz targets only.
#pragma once

#include <optional>
#include <string_view>

#include "core/crypto.h"
#include "core/hash.h"
#include "proto/sasl/credentials.h"

namespace mail::fuzz {

struct FakeCrypto final : Crypto {
  Sha256Digest fill(std::string_view a, std::string_view b) {
    Sha256Digest d{};
    std::uint64_t h = fnv1a64(b, fnv1a64(a, 1));
    for (auto& x : d) x = static_cast<std::uint8_t>(h >>= 1);
    return d;
  }
  Sha256Digest sha256(std::string_view d) override { return fill("h", d); }
  Sha256Digest hmac_sha256(std::string_view k, std::string_view d) override { return fill(k, d); }
  Sha256Digest pbkdf2_sha256(std::string_view p, std::string_view s, std::uint32_t) override { return fill(p, s); }
  bool constant_time_equal(std::string_view a, std::string_view b) override { return a == b; }
  void random_bytes(std::span<std::uint8_t> out) override {
    for (auto& b : out) b = 7;
  }
};

struct FakeStore final : sasl::CredentialStore {
  std::optional<sasl::ScramCredentials> lookup(std::string_view u) const override {
    if (u != "user") return std::nullopt;
    FakeCrypto c;
    return sasl::derive_scram_credentials(c, "pencil", "salt", 4096);
  }
};

}  // namespace mail::fuzz
