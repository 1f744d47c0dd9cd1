// http::Request / http::Response / http::Limits — the plain values every HTTP handler sees
// (no Beast, no Asio: handlers, the router and the tests include only this). Header names
// compare case-insensitively (RFC 9110 §5.1); values are kept as received, trimmed of
// surrounding whitespace by the parser (RFC 9110 §5.5).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"

namespace mail::http {

struct Header {
  std::string name;
  std::string value;
  friend bool operator==(const Header&, const Header&) = default;
};

struct Request {
  std::string method;   // "GET" (case-sensitive, RFC 9110 §9.1)
  std::string target;   // origin-form "/metrics?x=1" (RFC 9112 §3.2.1)
  int version = 11;     // 10 or 11 (HTTP/1.0, HTTP/1.1)
  std::vector<Header> headers;
  std::string body;     // de-chunked (RFC 9112 §7.1)
  // Where it came from (filled by the connection, not the parser): the peer's address
  // ("127.0.0.1", "::1") and whether it came over TLS. For authentication policy
  // (plaintext on loopback) and per-IP limits.
  std::string peer;
  bool secure = false;
  // The first field named `name` (any case), or nullopt.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
  // The path of the target without its query ("/metrics" of "/metrics?x=1").
  [[nodiscard]] std::string_view path() const;
  friend bool operator==(const Request&, const Request&) = default;
};

struct Response {
  int status = 200;
  std::vector<Header> headers;  // Content-Type (default text/plain; charset=utf-8), Allow, ...
  std::string body;
  bool close = false;           // close the connection after this response
  // The body is not `body` but a stream the application sends after this head with
  // ServerSession::send_body() / end_body() (text/event-stream, RFC 8620 §7.3): no
  // Content-Length, delimited by closing the connection (RFC 9112 §6.3 rule 8), and no
  // further request is read on the connection.
  bool streamed = false;
  friend bool operator==(const Response&, const Response&) = default;
};

// The value of query parameter `name` of `target` ("/x?a=1&b=%20"), percent-decoded
// (RFC 3986 §2.1; '+' as space, as forms send it), or nullopt when absent.
std::optional<std::string> query_param(std::string_view target, std::string_view name);
// RFC 3986 §2.1 percent-decoding (a malformed escape stays as it is).
std::string percent_decode(std::string_view s, bool plus_is_space = false);

// A short plain-text response ("404 Not Found\n" style bodies).
Response text_response(int status, std::string body);

// The budgets of one HTTP connection (STYLE.md habit 3), checked before the work.
struct Limits {
  std::uint32_t header_bytes_max = 16 * 1024;        // request line + fields; beyond: 431
  std::uint64_t body_bytes_max = 10 * 1024 * 1024;   // beyond: 413 (RFC 9110 §15.5.14)
  std::uint32_t requests_per_connection_max = 1000;  // the last one gets Connection: close
  std::uint32_t pipelined_max = 16;  // requests parsed but not yet answered; beyond: input waits
  // Slow clients: the header section within it from the request's first byte, then each
  // piece of the body within it of the one before; else 408.
  Duration request_timeout = 30s;
  Duration idle_timeout = 60s;       // between requests: close
};

}  // namespace mail::http
