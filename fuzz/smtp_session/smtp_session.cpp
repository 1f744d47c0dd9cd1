// libFuzzer target: a whole smtp::ServerSession (RFC 5321 + PIPELINING, CHUNKING, STARTTLS,
// AUTH) driven by the documented contract. Byte 0 picks the piece size (and, by its parity,
// whether content sent with DATA is refused, so the DATA reader is reached with big pieces
// too), whether verdicts refuse (and PLAIN/LOGIN go without TLS), are held back (pipelined
// input must then stop at its bound) and whether TLS "succeeds"; the rest is client input.
// Must never crash, stall, or exceed the buffered-bytes bound.
#include <cstdint>
#include <algorithm>
#include <deque>
#include <string_view>

#include "core/assert.h"
#include "fake_sasl.h"
#include "proto/smtp/server_session.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mail;
  using namespace mail::smtp;
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  ServerConfig config;
  config.starttls_available = (mode & 1) != 0;
  config.limits.message_bytes_max = 4096;
  config.limits.pipelined_input_bytes_max = 512;
  config.limits.recipients_max = 4;
  config.reject_pipelined_data = ((mode >> 4) & 1) != 0;
  fuzz::FakeCrypto crypto;
  fuzz::FakeStore store;
  config.auth.crypto = &crypto;
  config.auth.credentials = &store;
  config.auth.plaintext_without_tls = (mode & 2) != 0;
  const std::size_t bound = 4096 + 512 + config.limits.command_line_bytes_max;
  const std::size_t piece = 1 + (mode >> 4) * 37;
  Instant now{};
  ServerSession s(config, SessionInfo{}, now);
  std::deque<EventId> held;
  std::deque<EventId> auth_ok;
  std::deque<EventId> failed_auth;  // Auth events that failed: never 235  // Auth events whose credentials matched (only those may get 235)
  auto verdict = [&](EventId id) {
    const bool refuse = (mode & 2) != 0 && id % 3 == 0;
    if (std::find(auth_ok.begin(), auth_ok.end(), id) != auth_ok.end()) {
      return refuse ? Reply::make(535, {5, 7, 8}, "no") : Reply::make(235, {2, 7, 0}, "ok");
    }
    if (std::find(failed_auth.begin(), failed_auth.end(), id) != failed_auth.end()) {
      return Reply::make(535, {5, 7, 8}, "no");
    }
    return refuse ? Reply::make(id % 2 ? 550 : 451, {static_cast<std::uint8_t>(id % 2 ? 5 : 4), 7, 1}, "no")
                  : Reply::make(250, {2, 0, 0}, "Ok");
  };
  auto drain = [&] {
    for (bool progress = true; progress;) {
      progress = false;
      while (auto o = s.poll_output()) {
        progress = true;
        if (std::holds_alternative<out::StartTls>(*o) && (mode & 8) != 0) s.tls_established(now);
      }
      while (auto e = s.poll_event()) {
        progress = true;
        EventId id = 0;
        if (auto* m = std::get_if<ev::MailFrom>(&*e)) id = m->id;
        if (auto* r = std::get_if<ev::RcptTo>(&*e)) id = r->id;
        if (auto* g = std::get_if<ev::Message>(&*e)) id = g->id;
        if (auto* a = std::get_if<ev::Auth>(&*e)) {
          id = a->id;
          if (a->success) auth_ok.push_back(id);
          else failed_auth.push_back(id);
        }
        if (id == 0) continue;
        if ((mode & 4) != 0) held.push_back(id); else s.complete(id, verdict(id), now);
      }
    }
  };
  drain();
  for (std::size_t pos = 0; pos < in.size() && !s.closed();) {
    const std::size_t n = s.feed(in.substr(pos, piece), now);
    drain();
    MAIL_ASSERT(s.buffered_bytes() <= bound);
    if (n == 0) {
      MAIL_ASSERT(!held.empty());  // no input taken and no verdict owed would be a stall
      s.complete(held.front(), verdict(held.front()), now);
      held.pop_front();
      drain();
    }
    pos += n;
    now += std::chrono::seconds(1);
  }
  while (!held.empty()) {
    s.complete(held.front(), verdict(held.front()), now);
    held.pop_front();
    drain();
  }
  s.handle_timeout(now + std::chrono::hours(1));
  drain();
  s.feed_eof(now);
  drain();
  MAIL_ASSERT(s.closed());
  return 0;
}
