// tls::TlsEngine — sans-IO TLS over OpenSSL memory BIOs, shaped like the protocol
// sessions: ciphertext in (feed_ciphertext) and out (poll_ciphertext), plaintext in
// (write_plaintext) and out (poll_plaintext), events out (poll_event). No socket, no clock.
// Buffers are bounded by TlsLimits: feed/write take fewer bytes than offered when full.
// Drive: after every feed_ciphertext/feed_eof/write_plaintext/close_notify, drain
// poll_ciphertext() (send it), poll_plaintext() (hand to the protocol) and poll_event().
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "tls/context.h"

typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace mail::tls {

struct TlsLimits {
  std::uint32_t ciphertext_in_bytes_max = 64 << 10;   // unprocessed records held
  std::uint32_t plaintext_in_bytes_max = 64 << 10;    // decrypted, not yet polled
  std::uint32_t ciphertext_out_bytes_max = 64 << 10;  // encrypted, not yet polled
  std::uint32_t plaintext_out_bytes_max = 64 << 10;   // written before the handshake ended
};

namespace ev {
struct HandshakeDone {
  std::string version;       // "TLSv1.3"
  std::string cipher;        // "TLS_AES_256_GCM_SHA384"
  std::string alpn;          // negotiated protocol, empty if none
  bool peer_certificate = false;
  std::string peer_subject;  // one-line subject of the peer certificate
  bool peer_verified = false;
};
struct Failed {  // fatal: the engine is dead; poll_ciphertext() may still hold an alert
  std::string reason;
};
struct Closed {};  // the peer sent close_notify (RFC 8446 §6.1)
}  // namespace ev
using Event = std::variant<ev::HandshakeDone, ev::Failed, ev::Closed>;

class TlsEngine {
 public:
  // server_name: client role only — SNI and the hostname verified against the certificate.
  TlsEngine(TlsContext& ctx, Role role, std::string server_name = {}, TlsLimits limits = {});
  ~TlsEngine();
  TlsEngine(const TlsEngine&) = delete;
  TlsEngine& operator=(const TlsEngine&) = delete;

  // Takes ciphertext from the peer; returns the bytes consumed (fewer when buffers are full).
  [[nodiscard]] std::size_t feed_ciphertext(std::span<const std::byte> in);
  [[nodiscard]] std::size_t feed_ciphertext(std::string_view in);
  // The transport reached EOF. Without a prior close_notify this is a truncation: Failed.
  void feed_eof();
  // Queues application bytes; returns the bytes taken (fewer when buffers are full).
  [[nodiscard]] std::size_t write_plaintext(std::string_view in);
  // Sends close_notify; later write_plaintext() takes nothing.
  void close_notify();

  // Returns and removes up to max_bytes of pending output; empty when there is none.
  [[nodiscard]] std::string poll_ciphertext(std::size_t max_bytes = SIZE_MAX);
  [[nodiscard]] std::string poll_plaintext(std::size_t max_bytes = SIZE_MAX);
  [[nodiscard]] std::optional<Event> poll_event();

  [[nodiscard]] bool handshake_done() const noexcept { return handshake_done_; }
  [[nodiscard]] bool failed() const noexcept { return failed_; }
  [[nodiscard]] std::size_t buffered_bytes() const noexcept;  // all four buffers together

 private:
  void pump();
  void fail(std::string reason);
  void flush_pending_plaintext();

  TlsLimits limits_;
  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;  // ciphertext from the peer, read by OpenSSL
  BIO* wbio_ = nullptr;  // ciphertext written by OpenSSL, for the peer
  std::string plaintext_in_;
  std::string plaintext_out_;
  std::deque<Event> events_;
  bool handshake_done_ = false;
  bool failed_ = false;
  bool closed_ = false;      // we sent close_notify
  bool peer_closed_ = false;
};

}  // namespace mail::tls
