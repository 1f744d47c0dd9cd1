// TlsStream: an rt::Stream that runs a sans-IO tls::TlsEngine over another rt::Stream, so
// protocol drivers (SMTP STARTTLS and port 465 now, IMAP STARTTLS/993 and POP3 STLS/995
// later) read and write plaintext through the same interface. Env only: completions go
// through the Executor, never inline; works over Asio streams and simulated ones alike.
// The state lives in a shared core kept alive by in-flight inner operations.
#pragma once

#include <memory>
#include <string>

#include "runtime/env.h"
#include "runtime/task.h"
#include "tls/engine.h"

namespace mail::node {

class TlsStream final : public rt::Stream {
 public:
  // Takes over `inner`. `initial_ciphertext`: bytes already read from `inner` that belong
  // to the TLS stream (a read that was in flight when STARTTLS was accepted).
  TlsStream(rt::Executor& executor, std::unique_ptr<rt::Stream> inner, std::unique_ptr<tls::TlsEngine> engine,
            std::string initial_ciphertext = {});
  ~TlsStream() override;
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Runs the handshake to its end: ok with the negotiated version/cipher, Errc::timeout at
  // `deadline`, Errc::protocol with OpenSSL's reason, or the transport's error. Call once,
  // before any read or write.
  void async_handshake(Instant deadline, rt::Completion<tls::ev::HandshakeDone> done);

  void async_read_some(std::span<std::byte> into, Instant deadline, rt::Completion<std::size_t> done) override;
  void async_write_all(std::span<const std::byte> bytes, Instant deadline, rt::Completion<void> done) override;
  void shutdown_send() override;  // close_notify (RFC 8446 §6.1), then FIN once it is written
  void close() override;
  rt::Endpoint local_endpoint() const override { return local_; }
  rt::Endpoint remote_endpoint() const override { return remote_; }

 private:
  struct Core;
  std::shared_ptr<Core> core_;
  rt::Endpoint local_;
  rt::Endpoint remote_;
};

// Replaces `stream` by a TlsStream over it and `engine` (server or client role), and runs
// the handshake to its end by `deadline`: STARTTLS and implicit TLS for the server driver
// (node/connection.cpp), STARTTLS for the outbound client (smtp_client_connection.cpp).
// `initial_ciphertext`: bytes already read that belong to the TLS stream. The stream is
// left as it is on failure: the caller closes it its own way.
rt::Task<Result<tls::ev::HandshakeDone>> upgrade_to_tls(rt::Executor& executor, std::unique_ptr<rt::Stream>& stream,
                                                        std::unique_ptr<tls::TlsEngine> engine,
                                                        std::string initial_ciphertext, Instant deadline);

}  // namespace mail::node
