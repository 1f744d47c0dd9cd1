// Test harness for http::ServerSession: feeds bytes, collects the written bytes, the
// requests (events) and whether the session closed. Tests only.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "http/server_session.h"

namespace mail::http::testing {

struct Harness {
  explicit Harness(SessionConfig config = {}) : s(with_wall(std::move(config)), now) { drain(); }

  static SessionConfig with_wall(SessionConfig c) {
    c.wall_at_start = WallTime{784111777'000'000};  // Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110 §5.6.7)
    return c;
  }

  std::size_t feed(std::string_view bytes) {
    std::size_t n = s.feed(bytes, now);
    drain();
    return n;
  }
  void eof() {
    s.feed_eof(now);
    drain();
  }
  void respond(std::uint64_t id, Response r) {
    s.respond(id, std::move(r), now);
    drain();
  }
  void drain() {
    while (auto o = s.poll_output()) {
      if (auto* send = std::get_if<proto::out::Send>(&*o)) written += send->bytes;
      if (std::holds_alternative<proto::out::Close>(*o)) close_seen = true;
    }
    while (auto e = s.poll_event()) requests.push_back(std::move(*e));
  }
  // Answers every request so far with 200 and the method + target as body.
  void answer_all() {
    auto pending = std::move(requests);
    requests.clear();
    for (auto& r : pending) {
      answered.push_back(r.request);
      respond(r.id, text_response(200, r.request.method + " " + r.request.target + "\n"));
    }
  }

  Instant now{Duration(1'000'000)};
  ServerSession s;
  std::string written;
  std::vector<ev::Request> requests;
  std::vector<Request> answered;
  bool close_seen = false;
};

}  // namespace mail::http::testing
