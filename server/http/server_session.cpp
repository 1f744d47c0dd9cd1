// http::ServerSession (see header). The only file of the server that includes Beast's
// parser (compile time). Must not: touch a socket or clock, answer out of order, read a
// request after one that ends the connection, or hold more than pipelined_max requests.
#include "http/server_session.h"

// Beast 1.81's parse_chunk_header asserts n >= 5 where 4 buffered bytes are valid input
// (the last chunk "0\r\n" then "\r" then "\n": boostorg/beast#2861, fixed after 1.81). Its
// release behaviour is right (need_more), so Beast's asserts are off in this file whatever
// the build type: a dribbling client must not abort a debug build. (Found by fuzz/http_session.)
#ifndef BOOST_DISABLE_ASSERTS
#define BOOST_DISABLE_ASSERTS
#endif
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/ascii.h"
#include "http/response_writer.h"

namespace mail::http {

namespace bhttp = boost::beast::http;

std::string_view to_string(State s) noexcept {
  switch (s) {
    case State::idle: return "idle";
    case State::reading: return "reading";
    case State::waiting: return "waiting";
    case State::closed: return "closed";
  }
  return "?";
}

namespace {

// The request line ends in a well-formed "HTTP/d.d" (Beast refuses all but 1.0 and 1.1
// alike; a well-formed other version gets 505, garbage 400).
bool well_formed_version(std::string_view input) {
  const auto eol = input.find("\r\n");
  if (eol == std::string_view::npos || eol < 9) return false;
  const std::string_view v = input.substr(eol - 9, 9);
  return v[0] == ' ' && v.substr(1, 5) == "HTTP/" && is_digit(v[6]) && v[7] == '.' && is_digit(v[8]);
}

}  // namespace

struct ServerSession::Slot {
  std::uint64_t id = 0;  // 0: an error the session answers itself
  int version = 11;
  bool keep_alive = true;
  bool head = false;
  std::optional<Response> response;
};

struct ServerSession::Parser {
  std::optional<bhttp::request_parser<bhttp::string_body>> p;
  bool continue_sent = false;  // "100 Continue" for this message (RFC 9110 §10.1.1)
  void reset(const Limits& limits) {
    continue_sent = false;
    p.emplace();
    p->header_limit(limits.header_bytes_max);
    p->body_limit(limits.body_bytes_max);
    p->eager(true);
  }
};

ServerSession::ServerSession(SessionConfig config, Instant now)
    : config_(std::move(config)), parser_(std::make_unique<Parser>()), start_(now), last_activity_(now) {
  parser_->reset(config_.limits);
}

ServerSession::~ServerSession() = default;

State ServerSession::state() const noexcept {
  if (closed_) return State::closed;
  if (!slots_.empty()) return State::waiting;
  if (request_started_) return State::reading;
  return State::idle;
}

std::size_t ServerSession::feed(std::string_view in, Instant now) {
  if (closed_ || reading_done_) return in.size();  // nothing more is read: discard
  // What is left of earlier input first: new bytes are taken only while fewer than
  // pipelined_max requests wait, so the buffer stays below header_bytes_max + one piece.
  parse(now);
  flush(now);
  if (closed_ || reading_done_) return in.size();
  if (slots_.size() >= config_.limits.pipelined_max) return 0;  // wait for the answers
  last_activity_ = now;
  if (!in.empty() && !request_started_) request_started_ = now;
  input_.append(in);
  parse(now);
  flush(now);
  return in.size();
}

void ServerSession::parse(Instant now) {
  const Limits& limits = config_.limits;
  while (!reading_done_ && !input_.empty() && slots_.size() < limits.pipelined_max) {
    if (!request_started_) request_started_ = now;
    boost::beast::error_code ec;
    const std::size_t used = parser_->p->put(boost::asio::const_buffer(input_.data(), input_.size()), ec);
    input_.erase(0, used);
    if (parser_->p->is_header_done() && !parser_->p->is_done()) {
      // The header is in: request_timeout now bounds each piece of the body (a large
      // upload may take longer than one timeout, a stalled one may not).
      if (used > 0) request_started_ = now;
      // RFC 9110 §10.1.1: an HTTP/1.1 client that expects 100-continue waits for it before
      // the body; sent only when no earlier answer is owed (in order) and the body is
      // within body_bytes_max (Beast refused a larger Content-Length already: 413).
      const auto& header = parser_->p->get();
      if (!parser_->continue_sent && slots_.empty() && header.version() == 11 &&
          iequals(header[bhttp::field::expect], "100-continue")) {
        parser_->continue_sent = true;
        outputs_.push_back(proto::out::Send{"HTTP/1.1 100 Continue\r\n\r\n"});
      }
    }
    if (ec == bhttp::error::need_more) {
      // Beast 1.81 bounds the header section (header_limit) but not a chunk-size line or
      // the trailer section after the last chunk (boostorg/beast#3077, after 1.81): it
      // waits, rescanning, for their end. The same budget applies to them here.
      if (parser_->p->is_header_done() && input_.size() > limits.header_bytes_max) {
        fail(400, "Bad request: chunk line or trailer section too long\n");
        return;
      }
      if (used == 0) break;
      continue;
    }
    if (ec) {
      if (ec == bhttp::error::header_limit) {
        fail(431, "Request header fields too large\n");
      } else if (ec == bhttp::error::body_limit) {
        fail(413, "Request body too large\n");
      } else if (ec == bhttp::error::bad_version && well_formed_version(input_)) {
        fail(505, "HTTP version not supported\n");  // RFC 9110 §15.6.6: only 1.0 and 1.1
      } else {
        fail(400, "Bad request: " + ec.message() + "\n");
      }
      return;
    }
    if (!parser_->p->is_done()) continue;
    auto message = parser_->p->release();
    parser_->reset(limits);
    request_started_.reset();
    if (!input_.empty()) request_started_ = now;
    // RFC 9112 §2.3: a major version other than 1 is not ours to answer.
    if (message.version() < 10 || message.version() >= 20) {
      fail(505, "HTTP version not supported\n");
      return;
    }
    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.version = message.version() == 10 ? 10 : 11;
    std::size_t hosts = 0;
    for (const auto& field : message) {
      request.headers.push_back(Header{std::string(field.name_string()), std::string(field.value())});
      if (iequals(field.name_string(), "Host")) ++hosts;
    }
    // RFC 9112 §3.2: an HTTP/1.1 request without exactly one Host field gets 400.
    if ((request.version == 11 && hosts != 1) || hosts > 1) {
      fail(400, "Bad request: a Host header field is required\n");
      return;
    }
    // RFC 9112 §3.2: the target of a normal request is origin-form ("/..."); "*" only with
    // OPTIONS; absolute-form is accepted as RFC 9112 §3.2.2 requires.
    const std::string_view t = request.target;
    if (!(t.starts_with('/') || (t == "*" && request.method == "OPTIONS") || t.starts_with("http://") ||
          t.starts_with("https://"))) {
      fail(400, "Bad request: invalid request target\n");
      return;
    }
    request.body = std::move(message.body());
    Slot slot;
    slot.id = next_id_++;
    slot.version = request.version;
    slot.keep_alive = message.keep_alive();  // RFC 9112 §9.3
    slot.head = request.method == "HEAD";
    if (requests() >= limits.requests_per_connection_max) slot.keep_alive = false;
    if (!slot.keep_alive) {
      reading_done_ = true;  // RFC 9112 §9.6: nothing after a close is read
      input_.clear();
      request_started_.reset();
    }
    slots_.push_back(slot);
    events_.push_back(ev::Request{slot.id, std::move(request)});
  }
}

void ServerSession::fail(int status, std::string body) {
  Slot slot;
  slot.keep_alive = false;
  slot.response = text_response(status, std::move(body));
  slot.response->close = true;
  if (!slots_.empty()) slot.version = slots_.back().version;
  slots_.push_back(std::move(slot));
  reading_done_ = true;
  input_.clear();
  request_started_.reset();
}

void ServerSession::respond(std::uint64_t id, Response response, Instant now) {
  if (closed_) return;
  for (auto& slot : slots_) {
    if (slot.id == id && id != 0 && !slot.response) {
      slot.response = std::move(response);
      break;
    }
  }
  last_activity_ = now;
  flush(now);
  parse(now);  // requests held back by pipelined_max, already buffered: no feed may come
  flush(now);
}

void ServerSession::flush(Instant now) {
  const WallTime date{config_.wall_at_start.unix_us + (now - start_).count()};
  while (!closed_ && !slots_.empty() && slots_.front().response) {
    Slot slot = std::move(slots_.front());
    slots_.pop_front();
    const bool last = slots_.empty() && reading_done_;
    WriteOptions options;
    options.request_version = slot.version;
    options.keep_alive = slot.keep_alive && !slot.response->close && !last;
    options.head = slot.head;
    outputs_.push_back(proto::out::Send{serialize(*slot.response, date, options)});
    if (slot.response->streamed && !slot.head) {
      // The head is out; the body follows with send_body(). Nothing after it is read. The
      // body is delimited by the close (RFC 9112 §6.3), so a request that asked for the
      // close ("Connection: close", HTTP/1.0) gets its stream too.
      streaming_ = true;
      reading_done_ = true;
      input_.clear();
      slots_.clear();
      events_.clear();
      return;
    }
    if (!options.keep_alive || slot.response->streamed) close_now();
  }
  if (!closed_ && !streaming_ && slots_.empty() && reading_done_) close_now();
}

void ServerSession::send_body(std::string piece, Instant now) {
  if (!streaming() || piece.empty()) return;
  last_activity_ = now;
  outputs_.push_back(proto::out::Send{std::move(piece)});
}

void ServerSession::end_body(Instant) {
  if (streaming()) close_now();
}

void ServerSession::close_now() {
  if (closed_) return;
  outputs_.push_back(proto::out::Close{});
  closed_ = true;
  reading_done_ = true;
  input_.clear();
  events_.clear();
}

void ServerSession::feed_eof(Instant now) {
  if (closed_) return;
  eof_ = true;
  if (streaming_) {  // the reader of a streamed body went away
    close_now();
    return;
  }
  reading_done_ = true;  // a partial request is dropped; what was read is still answered
  input_.clear();
  request_started_.reset();
  flush(now);
}

std::optional<proto::Output> ServerSession::poll_output() {
  if (outputs_.empty()) return std::nullopt;
  proto::Output o = std::move(outputs_.front());
  outputs_.pop_front();
  return o;
}

std::optional<ev::Request> ServerSession::poll_event() {
  if (events_.empty()) return std::nullopt;
  ev::Request e = std::move(events_.front());
  events_.pop_front();
  return e;
}

std::optional<Instant> ServerSession::poll_timeout() const {
  if (closed_ || !slots_.empty() || streaming_) return std::nullopt;  // the application is answering
  if (request_started_) return *request_started_ + config_.limits.request_timeout;
  return last_activity_ + config_.limits.idle_timeout;
}

void ServerSession::handle_timeout(Instant now) {
  const auto due = poll_timeout();
  if (!due || now < *due) return;
  if (request_started_) {
    fail(408, "Request timeout\n");  // RFC 9110 §15.5.9
    flush(now);
  } else {
    close_now();  // RFC 9112 §9.5: an idle connection may be closed at any time
  }
}

void ServerSession::shutdown(Instant now, bool force) {
  if (closed_) return;
  if (force) {
    close_now();
    return;
  }
  reading_done_ = true;
  input_.clear();
  request_started_.reset();
  flush(now);
}

}  // namespace mail::http
