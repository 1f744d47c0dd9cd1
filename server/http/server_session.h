// http::ServerSession — the sans-IO HTTP/1.1 server side of one connection (RFC 9112):
// bytes in, requests (events) out, responses in. Parsing is Boost.Beast's
// request_parser fed through put() (buffer-driven: no socket), hidden in the .cpp so this
// header stays Beast-free. Pipelined requests (RFC 9112 §9.3.2) are answered in the order
// they came, whatever order the application answers them in. Persistence per RFC 9112
// §9.3: HTTP/1.1 stays open unless "Connection: close", HTTP/1.0 only with keep-alive.
// A malformed request gets 400 and the connection closes (RFC 9112 §2.2, never a crash);
// oversized fields 431 (RFC 6585 §5), an oversized body 413 (RFC 9110 §15.5.14), a slow
// request 408 (RFC 9110 §15.5.9), HTTP/2+ 505. Never touches a socket or clock.
//
// Driving contract: after every call drain poll_output() and poll_event(); answer every
// ev::Request with respond() once (any order); feed() takes fewer bytes than offered while
// limits.pipelined_max requests wait for their answers; arm poll_timeout().
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/time.h"
#include "http/message.h"
#include "proto/session_output.h"

namespace mail::http {

struct SessionConfig {
  Limits limits;
  // The wall clock at the session's construction (`now` there): the Date field of every
  // response is wall_at_start + (now - start). The caller's clock, never ours.
  WallTime wall_at_start{};
};

namespace ev {
struct Request {
  std::uint64_t id = 0;
  http::Request request;
};
}  // namespace ev

enum class State : std::uint8_t { idle, reading, waiting, closed };
std::string_view to_string(State s) noexcept;

class ServerSession {
 public:
  ServerSession(SessionConfig config, Instant now);
  ~ServerSession();
  ServerSession(const ServerSession&) = delete;
  ServerSession& operator=(const ServerSession&) = delete;

  [[nodiscard]] std::size_t feed(std::string_view in, Instant now);
  void feed_eof(Instant now);
  [[nodiscard]] std::optional<proto::Output> poll_output();
  [[nodiscard]] std::optional<ev::Request> poll_event();
  [[nodiscard]] std::optional<Instant> poll_timeout() const;
  void handle_timeout(Instant now);
  // Graceful: answer what was read, then close; forced: close now.
  void shutdown(Instant now, bool force);

  // The answer to ev::Request `id` (once; unknown ids, or after close, are ignored).
  void respond(std::uint64_t id, Response response, Instant now);
  // The body of a Response::streamed answer, once its head was written (streaming()):
  // each piece goes out as it is; end_body() closes the connection. Ignored otherwise.
  void send_body(std::string piece, Instant now);
  void end_body(Instant now);
  // A streamed answer's head went out: the connection only carries its body now.
  [[nodiscard]] bool streaming() const noexcept { return streaming_ && !closed_; }

  [[nodiscard]] bool closed() const noexcept { return closed_; }
  [[nodiscard]] State state() const noexcept;
  [[nodiscard]] std::size_t buffered_bytes() const noexcept { return input_.size(); }
  [[nodiscard]] std::uint64_t requests() const noexcept { return next_id_ - 1; }

 private:
  struct Slot;
  struct Parser;
  void parse(Instant now);
  void fail(int status, std::string body);  // an error response in order, then close
  void flush(Instant now);                   // answered slots at the front become output
  void close_now();

  SessionConfig config_;
  std::unique_ptr<Parser> parser_;
  std::string input_;
  std::deque<Slot> slots_;  // requests in arrival order, answered or not
  std::deque<proto::Output> outputs_;
  std::deque<ev::Request> events_;
  std::uint64_t next_id_ = 1;
  std::optional<Instant> request_started_;  // first byte of the request being read
  Instant start_;
  Instant last_activity_;
  bool reading_done_ = false;  // no more requests will be read (close after the last answer)
  bool eof_ = false;
  bool closed_ = false;
  bool streaming_ = false;  // a streamed body is being sent (no timeouts, no more requests)
};

}  // namespace mail::http
