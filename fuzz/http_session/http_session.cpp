// libFuzzer target: a whole http::ServerSession (Beast's request parser behind it,
// pipelining, keep-alive, limits, timeouts, shutdown) driven by the documented contract
// with a fake application. Byte 0 picks the piece size, whether answers are held back
// (feed must then stop at pipelined_max), and whether some answers ask to close; the rest
// is client input. Must never assert, stall, buffer or output without bound, answer out
// of order, or output after Close.
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "http/server_session.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mail;
  using namespace mail::http;
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  SessionConfig config;
  config.limits.header_bytes_max = 2048;
  config.limits.body_bytes_max = 4096;
  config.limits.pipelined_max = (mode & 2) != 0 ? 2 : 8;
  config.limits.requests_per_connection_max = 50;
  const std::size_t piece = 1 + (mode >> 4) * 37;
  Instant now{};
  ServerSession s(config, now);
  std::deque<ev::Request> held;
  bool closed_seen = false;
  std::size_t out_bytes = 0;
  std::uint64_t last_answered = 0;
  auto answer = [&](ev::Request& e) {
    Response r = text_response(e.id % 3 == 0 ? 404 : 200, "#" + std::to_string(e.id) + "\n");
    r.close = (mode & 8) != 0 && e.id % 5 == 0;
    s.respond(e.id, std::move(r), now);
  };
  auto drain = [&] {
    for (bool progress = true; progress;) {
      progress = false;
      while (auto o = s.poll_output()) {
        progress = true;
        MAIL_ASSERT(!closed_seen);
        if (auto* send = std::get_if<proto::out::Send>(&*o)) {
          out_bytes += send->bytes.size();
          // In order: an application answer carries "#<id>"; ids only grow.
          if (auto at = send->bytes.rfind("\r\n\r\n#"); at != std::string::npos) {
            const std::uint64_t id = std::stoull(send->bytes.substr(at + 5));
            MAIL_ASSERT(id > last_answered);
            last_answered = id;
          }
        } else if (std::holds_alternative<proto::out::Close>(*o)) {
          closed_seen = true;
        }
      }
      while (auto e = s.poll_event()) {
        progress = true;
        MAIL_ASSERT(e->request.body.size() <= config.limits.body_bytes_max);
        if ((mode & 4) != 0) held.push_back(std::move(*e));
        else answer(*e);
      }
    }
  };
  drain();
  for (std::size_t pos = 0; pos < in.size() && !s.closed();) {
    const std::size_t n = s.feed(in.substr(pos, piece), now);
    drain();
    MAIL_ASSERT(s.buffered_bytes() <= config.limits.header_bytes_max + piece);
    if (n == 0) {
      MAIL_ASSERT(!held.empty());  // no input taken and no answer owed would be a stall
      // Answer the newest first: the session must still write in request order.
      answer(held.back());
      held.pop_back();
      drain();
    }
    pos += n;
    now += std::chrono::seconds(1);
  }
  while (!held.empty()) {
    answer(held.front());
    held.pop_front();
    drain();
  }
  MAIL_ASSERT(out_bytes <= 4096 + 512 * in.size());
  s.shutdown(now, (mode & 1) != 0);
  drain();
  s.handle_timeout(now + std::chrono::hours(1));
  drain();
  s.feed_eof(now);
  drain();
  MAIL_ASSERT(s.closed());
  MAIL_ASSERT(closed_seen);
  return 0;
}
