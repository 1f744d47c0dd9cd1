// generate_self_signed — a fresh EC P-256 key and a self-signed X.509 v3 certificate for
// `hostname` (CN and SAN DNS:hostname, RFC 5280 §4.2.1.6), valid from `now` for `days`,
// as PEM text. For the first `make run` without a configured certificate; the caller
// writes the files (durably, through Env::Disk). Draws OpenSSL randomness; reads no clock.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "core/time.h"

namespace mail::tls {

struct SelfSigned {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8, unencrypted: write it mode 0600
};

// Returns the pair, or Errc::invalid for an empty/oversized hostname, Errc::io on OpenSSL errors.
[[nodiscard]] Result<SelfSigned> generate_self_signed(std::string_view hostname, WallTime now,
                                                      std::uint32_t days = 3650);

}  // namespace mail::tls
