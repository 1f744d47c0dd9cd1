// TLS for the conformance runner: a Connection that runs tls::TlsEngine (client role, sans
// IO) over another Connection, and Target wrappers for `--tls` (implicit TLS, RFC 8314 §3)
// and `--starttls` (SMTP STARTTLS RFC 3207, IMAP STARTTLS RFC 9051 §6.2.1, POP3 STLS
// RFC 2595 §4): they upgrade every fresh connection, then replay the original greeting so
// the cases run unchanged inside TLS. No sockets here: the inner Connection does the I/O.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "runner.h"

namespace mail::tls {
class TlsContext;
}

namespace mail::conformance {

// A client context: verify_peer only when `ca_file` is given (test servers use self-signed
// certificates). nullptr with `error` when OpenSSL refuses the configuration.
std::shared_ptr<tls::TlsContext> make_client_tls_context(const std::string& ca_file, std::string& error);

// Runs the handshake over `inner` (whose buffered-but-unread bytes are `already`) and
// returns the TLS connection, or nullptr with `error` when the handshake fails or times out.
std::unique_ptr<Connection> tls_handshake(std::unique_ptr<Connection> inner, tls::TlsContext& ctx,
                                          const std::string& server_name, std::chrono::milliseconds timeout,
                                          std::string& error);

// The server side of the same: the smtp-client suite's scripted server after its STARTTLS
// 220 (`ctx` a server context). nullptr with `error` when the handshake fails or times out.
std::unique_ptr<Connection> tls_accept(std::unique_ptr<Connection> inner, tls::TlsContext& ctx,
                                       std::chrono::milliseconds timeout, std::string& error);

enum class TlsMode : std::uint8_t { implicit, starttls };

// Wraps `inner` so that every connection is TLS from the start (implicit) or upgraded with
// the protocol's STARTTLS/STLS before the case sees it; the greeting is replayed either way
// for STARTTLS (implicit TLS servers greet inside TLS).
std::unique_ptr<Target> make_tls_target(std::unique_ptr<Target> inner, TlsMode mode, Protocol protocol,
                                        std::shared_ptr<tls::TlsContext> ctx, std::string server_name,
                                        std::chrono::milliseconds timeout);

}  // namespace mail::conformance
