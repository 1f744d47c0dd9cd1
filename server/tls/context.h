// tls::TlsContext — an OpenSSL 3 SSL_CTX configured for one role: certificate chain + key
// (PEM files or PEM text), TLS 1.2 minimum with 1.3 preferred, Mozilla "intermediate"
// ciphers, optional ALPN, client-side peer verification (CA file/PEM; hostname per engine).
// Loads files only at creation; never does network I/O. RFC 8446, RFC 5246, RFC 7301.
// Randomness is OpenSSL's DRBG (not yet a seeded provider): ciphertext differs run to run.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/time.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace mail::tls {

enum class Role : std::uint8_t { server, client };
enum class MaxVersion : std::uint8_t { tls13, tls12 };  // tls12 forces TLS 1.2 (tests, interop)

// Mozilla intermediate (v5.7) TLS 1.2 list; TLS 1.3 suites are OpenSSL's defaults.
inline constexpr const char* kIntermediateCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

struct TlsConfig {
  std::string cert_chain_file;  // PEM, leaf first (server; optional for clients)
  std::string key_file;         // PEM private key
  std::string cert_chain_pem;   // alternative to the files: PEM text
  std::string key_pem;
  std::string ca_file;          // client: trust anchors; empty + ca_pem empty = system default
  std::string ca_pem;
  bool verify_peer = true;      // client: verify the server certificate and hostname
  MaxVersion max_version = MaxVersion::tls13;
  std::string ciphers_tls12 = kIntermediateCiphers;
  std::vector<std::string> alpn;  // server: accepted protocols; client: offered, in order
  // Client: check certificate validity at this time instead of the system clock — the
  // simulator pins it to virtual time so verification is reproducible.
  std::optional<WallTime> verification_time;
  // Server: TLS 1.3 session tickets (RFC 8446 §4.6.1). Their contents carry the wall clock,
  // so the simulator turns them off to keep every byte reproducible.
  bool session_tickets = true;
};

class TlsContext {
 public:
  // Returns a ready context, or Errc::invalid/io with OpenSSL's reason text.
  [[nodiscard]] static Result<std::unique_ptr<TlsContext>> create(Role role, const TlsConfig& cfg);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  Role role() const noexcept { return role_; }
  SSL_CTX* native() const noexcept { return ctx_; }
  bool verify_peer() const noexcept { return verify_peer_; }

 private:
  TlsContext(Role role, SSL_CTX* ctx, std::string alpn_wire, bool verify_peer);
  Role role_;
  SSL_CTX* ctx_;
  std::string alpn_wire_;  // length-prefixed list (RFC 7301 §3.1), read by the server callback
  bool verify_peer_;
  friend struct ContextAccess;
};

// Drains OpenSSL's thread-local error queue into one line (for Error::detail and events).
[[nodiscard]] std::string openssl_error_text(std::string_view what);

}  // namespace mail::tls
