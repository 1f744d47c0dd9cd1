// ControlSession (see header). Must not: act on bytes after the first line, answer twice,
// or hold more than max_line bytes.
#include "proto/control/control_session.h"

#include "core/assert.h"

namespace mail::control {

std::string error_response(std::string_view why) {
  std::string out = "{\"ok\":false,\"error\":";
  out += json_string(why);
  out += '}';
  return out;
}

ControlSession::ControlSession(Instant now, ControlLimits limits) : limits_(limits), deadline_(now + limits.request_timeout) {
  MAIL_ASSERT(limits_.max_line > 0);
}

std::size_t ControlSession::feed(std::string_view in, Instant /*now*/) {
  const std::size_t offered = in.size();
  if (line_done_ || closed_) return offered;
  const auto nl = in.find('\n');
  const std::string_view part = in.substr(0, nl);
  if (line_.size() + part.size() > limits_.max_line) {
    line_done_ = true;
    fail("request line too long");
    return offered;
  }
  line_.append(part);
  if (nl == std::string_view::npos) return offered;
  line_done_ = true;
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  Request r;
  std::size_t i = 0;
  while (i < line_.size()) {
    while (i < line_.size() && line_[i] == ' ') ++i;
    std::size_t j = i;
    while (j < line_.size() && line_[j] != ' ') ++j;
    if (j > i) r.words.emplace_back(line_.substr(i, j - i));
    i = j;
  }
  line_.clear();
  if (r.words.empty()) {
    fail("empty request");
    return offered;
  }
  request_ = std::move(r);
  return offered;
}

void ControlSession::feed_eof(Instant /*now*/) {
  if (closed_) return;
  if (!line_done_) {
    line_done_ = true;
    fail("connection closed before a complete request line");
  }
  // A request being answered still gets its answer (the client half-closed).
}

std::optional<proto::Output> ControlSession::poll_output() {
  if (out_next_ >= out_.size()) return std::nullopt;
  return std::move(out_[out_next_++]);
}

std::optional<Request> ControlSession::poll_request() {
  if (!request_) return std::nullopt;
  MAIL_ASSERT(!request_given_);
  request_given_ = true;
  auto r = std::move(request_);
  request_.reset();
  return r;
}

void ControlSession::respond(std::string body, Instant /*now*/) {
  MAIL_ASSERT(request_given_ && !answered_);
  MAIL_ASSERT(body.find('\n') == std::string::npos);
  answered_ = true;
  if (closed_) return;
  body += '\n';
  out_.push_back(proto::out::Send{std::move(body)});
  out_.push_back(proto::out::Close{});
  closed_ = true;
}

void ControlSession::fail(std::string_view why) {
  if (closed_) return;
  out_.push_back(proto::out::Send{error_response(why) + "\n"});
  out_.push_back(proto::out::Close{});
  closed_ = true;
}

std::optional<Instant> ControlSession::poll_timeout() const {
  if (closed_ || request_given_) return std::nullopt;
  return deadline_;
}

void ControlSession::handle_timeout(Instant now) {
  if (closed_ || request_given_ || now < deadline_) return;
  fail("no request line within the timeout");
}

void ControlSession::shutdown(Instant /*now*/) {
  if (closed_ || request_given_) return;  // an answer in progress still goes out
  fail("server shutting down");
}

}  // namespace mail::control
