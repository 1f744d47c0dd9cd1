// libFuzzer target: segmentation invariance of a whole pop3::ServerSession (segment_oracle.h).
// Byte 0: bit 0 holds answers until feed() stops, bit 1 allows USER/PASS and AUTH PLAIN
// without TLS. Then the split layout and the client's bytes. The application (a three-message
// maildrop, RETR streaming in two parts, UPDATE) answers as a pure function of the event.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fake_sasl.h"
#include "proto/pop3/server_session.h"
#include "segment_oracle.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mail;
  using namespace mail::pop3;
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  fuzz::FakeCrypto crypto;
  fuzz::FakeStore store;
  SessionConfig config;
  config.starttls_available = false;  // after STLS the split changes meaning (RFC 2595 §4)
  config.plaintext_without_tls = (mode & 2) != 0;
  config.crypto = &crypto;
  config.credentials = &store;
  config.sasl.response_b64_bytes_max = 2048;
  const std::size_t bound = config.sasl.response_b64_bytes_max + 2 + config.limits.command_line_bytes_max;
  auto make = [&] { return std::make_unique<ServerSession>(config, Instant{}); };
  auto answer = [&](ServerSession& s, Event& e, std::string& log, Instant now) {
    if (auto* a = std::get_if<ev::Auth>(&e)) {
      log += "auth " + std::to_string(a->id) + " " + a->mechanism + " " + a->authcid + (a->success ? " ok\n" : " bad\n");
      std::vector<MaildropEntry> drop = {{3, 40, "a"}, {5, 12, "b"}, {9, 0, "c"}};
      s.complete_auth(a->id, a->success && a->id % 5 != 0, std::move(drop), now,
                      a->id % 5 == 0 ? "[IN-USE] locked" : "");
    } else if (auto* r = std::get_if<ev::Retrieve>(&e)) {
      log += "retr " + std::to_string(r->id) + " uid " + std::to_string(r->uid) + " top " +
             (r->top_lines ? std::to_string(*r->top_lines) : "-") + "\n";
      if (r->id % 7 == 0) {
        s.complete_retrieve(r->id, false, now);
        return;
      }
      (void)s.send_message(r->id, "Subject: x\r\n\r\n.a\r\n");
      (void)s.send_message(r->id, "b\r\n..\r\nlast");
      s.complete_retrieve(r->id, r->id % 11 != 0, now);
    } else if (auto* u = std::get_if<ev::Update>(&e)) {
      log += "update " + std::to_string(u->id) + " deleted";
      for (auto uid : u->deleted_uids) log += " " + std::to_string(uid);
      log += "\n";
      s.complete_update(u->id, u->id % 3 != 0, now);
    }
  };
  fuzz::check_segmentation("pop3_segment", make, rest, (mode & 1) != 0, bound, answer);
  return 0;
}
