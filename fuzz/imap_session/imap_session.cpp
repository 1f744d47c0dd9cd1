// libFuzzer target: a whole imap::ServerSession (RFC 9051 states, literals, LOGIN and
// AUTHENTICATE, STARTTLS, ENABLE, IDLE) driven by the documented contract with a fake
// application. Byte 0 picks the piece size, STARTTLS availability, plaintext login, whether
// answers are held back (feed must then stop) and whether TLS "succeeds"; the rest is client
// input. Must never assert, stall, buffer or output without bound, or output after Close.
#include <cstdint>
#include <string_view>

#include "fake_sasl.h"
#include "proto/imap/server_session.h"
#include "session_driver.h"

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
  Instant now{};
  ServerSession s(config, now);
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
  // IDLE runs: untagged data may flow.
  auto intercept = [&](Event& e) {
    if (!std::holds_alternative<ev::Idle>(e)) return false;
    s.send_untagged("* 2 EXISTS\r\n");
    return true;
  };
  fuzz::drive_session(s, mode, in, buffered_bound, now, answer, intercept);
  return 0;
}
