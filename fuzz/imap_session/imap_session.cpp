// libFuzzer target: a whole imap::ServerSession (RFC 9051 states, literals, LOGIN and
// AUTHENTICATE, STARTTLS, ENABLE, IDLE) driven by the documented contract with a fake
// application. Byte 0 picks the piece size, STARTTLS availability, plaintext login, whether
// answers are held back (feed must then stop) and whether TLS "succeeds"; the rest is client
// input. Must never assert, stall, buffer or output without bound, or output after Close.
#include <cstdint>
#include <deque>
#include <string_view>

#include "core/assert.h"
#include "fake_sasl.h"
#include "proto/imap/server_session.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mail;
  using namespace mail::imap;
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  fuzz::FakeCrypto crypto;
  fuzz::FakeStore store;
  SessionConfig config;
  config.starttls_available = (mode & 1) != 0;
  config.plaintext_without_tls = (mode & 2) != 0;
  config.crypto = &crypto;
  config.credentials = &store;
  config.capabilities = {"CONDSTORE", "QRESYNC", "UTF8=ACCEPT"};
  config.reader.line_bytes_max = 1024;
  config.reader.literal_bytes_max = 4096;
  config.reader.command_bytes_max = 8192;
  config.reader.discard_bytes_max = 4096;
  config.bad_commands_max = 10;
  const std::size_t buffered_bound = config.reader.line_bytes_max + config.reader.command_bytes_max;
  const std::size_t piece = 1 + (mode >> 4) * 37;
  Instant now{};
  ServerSession s(config, now);
  std::deque<Event> held;
  bool closed_seen = false;
  std::size_t out_bytes = 0;
  auto answer = [&](Event& e) {
    if (auto* c = std::get_if<ev::Command>(&e)) {
      Response r;
      r.untagged = "* 1 EXISTS\r\n";
      r.status = static_cast<Response::Status>(c->id % 3);
      r.text = "done";
      if (std::holds_alternative<Select>(c->command.body)) r.next_state = State::selected;
      if (std::holds_alternative<Close>(c->command.body)) r.next_state = State::authenticated;
      r.close = c->id % 17 == 0;
      s.complete(c->id, std::move(r), now);
    } else if (auto* a = std::get_if<ev::Auth>(&e)) {
      s.complete_auth(a->id, a->success, now);
    } else if (auto* d = std::get_if<ev::IdleDone>(&e)) {
      Response r;
      r.status = d->done ? Response::Status::ok : Response::Status::bad;
      r.text = "idle over";
      s.complete(d->id, std::move(r), now);
    }
  };
  auto drain = [&] {
    for (bool progress = true; progress;) {
      progress = false;
      while (auto o = s.poll_output()) {
        progress = true;
        if (auto* send = std::get_if<proto::out::Send>(&*o)) {
          MAIL_ASSERT(!closed_seen);  // nothing may follow Close
          out_bytes += send->bytes.size();
        } else if (std::holds_alternative<proto::out::StartTls>(*o)) {
          MAIL_ASSERT(!closed_seen);
          if ((mode & 8) != 0) s.tls_established(now);
        } else if (std::holds_alternative<proto::out::Close>(*o)) {
          MAIL_ASSERT(!closed_seen);
          closed_seen = true;
        }
      }
      while (auto e = s.poll_event()) {
        progress = true;
        if (auto* i = std::get_if<ev::Idle>(&*e)) {
          (void)i;
          s.send_untagged("* 2 EXISTS\r\n");  // IDLE runs: untagged data may flow
          continue;
        }
        if ((mode & 4) != 0) held.push_back(std::move(*e));
        else answer(*e);
      }
    }
  };
  drain();
  for (std::size_t pos = 0; pos < in.size() && !s.closed();) {
    const std::size_t n = s.feed(in.substr(pos, piece), now);
    drain();
    MAIL_ASSERT(s.buffered_bytes() <= buffered_bound);
    if (n == 0) {
      MAIL_ASSERT(!held.empty());  // no input taken and no answer owed would be a stall
      answer(held.front());
      held.pop_front();
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
  // Every response line is short and caused by at most one input byte or event.
  MAIL_ASSERT(out_bytes <= 4096 + 512 * in.size());
  s.shutdown(now, (mode & 4) != 0);
  drain();
  s.handle_timeout(now + std::chrono::hours(1));
  drain();
  s.feed_eof(now);
  drain();
  MAIL_ASSERT(s.closed());
  MAIL_ASSERT(closed_seen);
  return 0;
}
