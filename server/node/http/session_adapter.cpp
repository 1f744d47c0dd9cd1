// HttpSessionAdapter (see header). Must not: touch Asio or Beast, or answer a request twice.
#include "node/http/session_adapter.h"

#include <chrono>

namespace mail::node {

HttpSessionAdapter::~HttpSessionAdapter() = default;

bool HttpSessionAdapter::dispatch_events(Instant now) {
  bool any = false;
  while (auto event = session_.poll_event()) {
    any = true;
    // Before routing: over the client's rate, 429 with Retry-After (RFC 6585 §4).
    if (rate_limited_) {
      if (auto wait = server_.rate_limiter_.admit(peer_, now)) {
        ++server_.counters_.rate_limited;
        ++server_.counters_.client_errors;
        http::Response r = http::text_response(429, "Too many requests\n");
        r.headers.push_back(http::Header{"Retry-After", std::to_string(retry_after_seconds(*wait))});
        session_.respond(event->id, std::move(r), now);
        continue;
      }
    }
    ++server_.counters_.requests;
    event->request.peer = peer_;
    event->request.secure = secure_;
    connection_.start_job(handle(event->id, std::move(event->request)));
  }
  return any;
}

void HttpSessionAdapter::feed_eof(Instant now) {
  session_.feed_eof(now);
  if (session_.closed()) cancel_stream();
}

void HttpSessionAdapter::shutdown(Instant now, bool force) {
  cancel_stream();  // an event stream ends at a shutdown, graceful or not
  session_.shutdown(now, force);
  if (stream_ == nullptr || force) return;
  session_.end_body(now);
}

void HttpSessionAdapter::cancel_stream() {
  if (stream_) stream_->cancel();
}

rt::Task<Connection::JobResult> HttpSessionAdapter::handle(std::uint64_t id, http::Request request) {
  const Instant started = server_.env_.clock().now();
  rt::Task<HttpAnswer> routed = server_.router_.route(std::move(request));
  HttpAnswer answer = co_await std::move(routed);
  server_.counters_.request_seconds.observe(
      std::chrono::duration<double>(server_.env_.clock().now() - started).count());
  const int status = answer.response.status;
  if (status >= 500) {
    ++server_.counters_.server_errors;
  } else if (status >= 400) {
    ++server_.counters_.client_errors;
  }
  co_return [this, id, answer = std::move(answer)](Instant now, bool open) mutable {
    if (!open) {
      if (answer.stream) answer.stream->cancel();
      return;
    }
    session_.respond(id, std::move(answer.response), now);
    if (answer.stream && session_.streaming() && stream_ == nullptr) {
      stream_ = std::move(answer.stream);
      connection_.start_job(pump_stream());
    }
  };
}

// Pulls the streamed body piece by piece; each piece is written before the next is asked.
rt::Task<Connection::JobResult> HttpSessionAdapter::pump_stream() {
  for (;;) {
    rt::Task<std::string> next = stream_->next();
    std::string piece = co_await std::move(next);
    if (piece.empty()) break;
    rt::Task<bool> delivered = connection_.deliver([this, piece = std::move(piece)](Instant now, bool open) mutable {
      if (open) session_.send_body(std::move(piece), now);
    });
    if (!co_await std::move(delivered) || !session_.streaming()) break;
  }
  co_return [this](Instant now, bool open) {
    if (open) session_.end_body(now);
  };
}

}  // namespace mail::node
