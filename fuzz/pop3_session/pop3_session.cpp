// libFuzzer target: a whole pop3::ServerSession (RFC 1939 states, USER/PASS, AUTH with SASL,
// STLS, RETR/TOP streaming, QUIT's UPDATE) driven by the documented contract with a fake
// application. Byte 0 picks the piece size, STLS availability, plaintext login, whether
// answers are held back (feed must then stop) and whether TLS "succeeds"; the rest is client
// input. Must never assert, stall, buffer or output without bound, or output after Close.
#include <cstdint>
#include <string_view>

#include "fake_sasl.h"
#include "proto/pop3/server_session.h"
#include "session_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mail;
  using namespace mail::pop3;
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
  config.sasl.response_b64_bytes_max = 2048;
  const std::size_t buffered_bound = config.sasl.response_b64_bytes_max + 2 + config.limits.command_line_bytes_max;
  Instant now{};
  ServerSession s(config, now);
  auto answer = [&](Event& e) {
    if (auto* a = std::get_if<ev::Auth>(&e)) {
      std::vector<MaildropEntry> drop = {{3, 40, "a"}, {5, 12, "b"}, {9, 0, "c"}};
      s.complete_auth(a->id, a->success && a->id % 5 != 0, std::move(drop), now,
                      a->id % 5 == 0 ? "[IN-USE] locked" : "");
    } else if (auto* r = std::get_if<ev::Retrieve>(&e)) {
      if (r->id % 7 == 0) {
        s.complete_retrieve(r->id, false, now);
        return;
      }
      (void)s.send_message(r->id, "Subject: x\r\n\r\n.a\r\n");
      (void)s.send_message(r->id, "b\r\n..\r\nlast");
      s.complete_retrieve(r->id, r->id % 11 != 0, now);
    } else if (auto* u = std::get_if<ev::Update>(&e)) {
      s.complete_update(u->id, u->id % 3 != 0, now);
    }
  };
  fuzz::drive_session(s, mode, in, buffered_bound, now, answer, [](Event&) { return false; });
  return 0;
}
