// DrivenSession: what node::Connection (the one connection driver) needs from a protocol.
// A protocol service (SMTP today; IMAP, POP3, HTTP later) wraps its sans-IO session in one
// of these: the sans-IO verbs are forwarded, and the application events the session emits
// are answered here — at once, or later through Connection::start_job. Env only; the
// driver calls every method from its own loop, never from a completion.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/time.h"
#include "proto/session_output.h"

namespace mail::node {

class DrivenSession {
 public:
  virtual ~DrivenSession() = default;

  // The sans-IO verbs (STYLE.md habit 1). feed() returns the bytes taken; fewer than
  // offered only while a verdict (a job) is pending.
  [[nodiscard]] virtual std::size_t feed(std::string_view in, Instant now) = 0;
  virtual void feed_eof(Instant now) = 0;
  [[nodiscard]] virtual std::optional<proto::Output> poll_output() = 0;
  [[nodiscard]] virtual std::optional<Instant> poll_timeout() const = 0;
  virtual void handle_timeout(Instant now) = 0;
  virtual void tls_established(Instant now) = 0;
  // After out::StartCompress: the DEFLATE layer is in place (only IMAP asks for one).
  virtual void compress_established(Instant /*now*/) {}
  // Graceful (finish the current exchange, then say goodbye) or forced (goodbye now).
  virtual void shutdown(Instant now, bool force) = 0;
  [[nodiscard]] virtual bool closed() const = 0;

  // Drains the session's application events and answers them (inline, or by starting a
  // job on the connection). Returns whether there was any.
  virtual bool dispatch_events(Instant now) = 0;

  // Bytes the session holds (its input buffer and pending message); bounded by its limits.
  [[nodiscard]] virtual std::size_t buffered_bytes() const = 0;
  // The session's state name, for the log line of a stalled session.
  [[nodiscard]] virtual std::string_view state_name() const = 0;
  // A line for the disconnect log entry beyond the reason ("transactions=3"), or empty.
  [[nodiscard]] virtual std::string summary() const { return {}; }
};

}  // namespace mail::node
