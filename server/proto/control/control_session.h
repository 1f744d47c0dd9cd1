// control::ControlSession — the sans-IO side of the local administration socket (the queue
// CLI talks to a running server through it). The protocol: the client sends ONE request
// line ("queue list", "queue show ID", ...; words separated by spaces, LF or CRLF ended,
// at most max_line bytes); the server answers with one response (a JSON document and a
// newline) and closes. A line that is too long, missing before EOF, or late gets an error
// response. No I/O, no clock: time arrives as `now`.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/time.h"
#include "proto/session_output.h"

namespace mail::control {

struct Request {
  std::vector<std::string> words;  // non-empty: "queue", "show", "4F2A..."
};

struct ControlLimits {
  std::size_t max_line = 4096;
  Duration request_timeout = 30s;  // from the connection to the complete request line
};

class ControlSession {
 public:
  ControlSession(Instant now, ControlLimits limits = {});

  // Takes every byte; only the first line counts (anything after it is ignored).
  std::size_t feed(std::string_view in, Instant now);
  void feed_eof(Instant now);
  std::optional<proto::Output> poll_output();
  // The request, once its line is complete (exactly once per session).
  std::optional<Request> poll_request();
  // The answer to the request: `body` (one JSON document, no newline inside) is sent with
  // a newline, then the session closes. Call once, after poll_request() gave the request.
  void respond(std::string body, Instant now);
  std::optional<Instant> poll_timeout() const;
  void handle_timeout(Instant now);
  void shutdown(Instant now);  // answer {"ok":false,...} if still waiting, then close
  bool closed() const noexcept { return closed_; }
  bool waiting_for_answer() const noexcept { return request_given_ && !answered_; }
  std::size_t buffered_bytes() const noexcept { return line_.size(); }

 private:
  void fail(std::string_view why);  // error response and close

  ControlLimits limits_;
  Instant deadline_;
  std::string line_;
  std::optional<Request> request_;
  std::vector<proto::Output> out_;
  std::size_t out_next_ = 0;
  bool line_done_ = false;
  bool request_given_ = false;
  bool answered_ = false;
  bool closed_ = false;
};

// {"ok":false,"error":"<why>"} — the error response every failure uses.
std::string error_response(std::string_view why);
using mail::json_string;  // core/json.h: the answers' string literals (RFC 8259 §7)

}  // namespace mail::control
