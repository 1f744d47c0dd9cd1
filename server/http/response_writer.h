// Response serialisation (RFC 9112 §4, §6): status line, Date (RFC 9110 §6.6.1, from the
// caller's wall clock value: no clock here), Content-Length (RFC 9110 §8.6; none for 1xx,
// 204 and 304), Connection, Content-Type (text/plain by default), then the handler's
// fields and the body (none for HEAD, RFC 9110 §9.3.2). Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/time.h"
#include "http/message.h"

namespace mail::http {

// IMF-fixdate (RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT".
std::string imf_fixdate(WallTime at);
// The reason phrase of a status code ("Not Found"), or "Unknown".
std::string_view reason_phrase(int status) noexcept;

struct WriteOptions {
  int request_version = 11;  // 10: "Connection: keep-alive" when the connection stays open
  bool keep_alive = true;    // false: "Connection: close"
  bool head = false;         // HEAD: the fields of GET, no body
};

std::string serialize(const Response& response, WallTime date, const WriteOptions& options);

}  // namespace mail::http
