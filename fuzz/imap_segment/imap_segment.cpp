// libFuzzer target: segmentation invariance of a whole imap::ServerSession (segment_oracle.h).
// Byte 0: bit 0 holds answers until feed() stops, bit 1 allows LOGIN/AUTHENTICATE PLAIN
// without TLS. Then the split layout and the client's bytes (literals, LITERAL+, IDLE and
// DONE, SASL continuations all cross piece boundaries). The application answers as a pure
// function of the event.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/hash.h"
#include "fake_sasl.h"
#include "proto/imap/server_session.h"
#include "segment_oracle.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mail;
  using namespace mail::imap;
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  fuzz::FakeCrypto crypto;
  fuzz::FakeStore store;
  SessionConfig config;
  config.starttls_available = false;  // after STARTTLS the split changes meaning (RFC 9051 §11.1)
  config.compress_available = false;  // after COMPRESS the bytes are deflate (RFC 4978)
  config.plaintext_without_tls = (mode & 2) != 0;
  config.crypto = &crypto;
  config.credentials = &store;
  config.capabilities = {"CONDSTORE", "QRESYNC", "UTF8=ACCEPT"};
  config.reader.line_bytes_max = 1024;
  config.reader.literal_bytes_max = 4096;
  config.reader.command_bytes_max = 8192;
  config.reader.discard_bytes_max = 4096;
  config.bad_commands_max = 10;
  const std::size_t bound = config.reader.line_bytes_max + config.reader.command_bytes_max;
  auto make = [&] { return std::make_unique<ServerSession>(config, Instant{}); };
  auto answer = [&](ServerSession& s, Event& e, std::string& log, Instant now) {
    if (auto* c = std::get_if<ev::Command>(&e)) {
      log += "command " + std::to_string(c->id) + " tag " + c->command.tag + " kind " +
             std::to_string(c->command.body.index());
      if (auto* a = std::get_if<Append>(&c->command.body)) {
        log += " append " + a->mailbox + " bytes " + std::to_string(a->message.size()) + " fnv " +
               std::to_string(fnv1a64(a->message));
      }
      log += "\n";
      Response r;
      r.untagged = "* 1 EXISTS\r\n";
      r.status = static_cast<Response::Status>(c->id % 3);
      r.text = "done";
      if (std::holds_alternative<Select>(c->command.body)) r.next_state = State::selected;
      if (std::holds_alternative<Close>(c->command.body)) r.next_state = State::authenticated;
      r.close = c->id % 17 == 0;
      s.complete(c->id, std::move(r), now);
    } else if (auto* a = std::get_if<ev::Auth>(&e)) {
      log += "auth " + std::to_string(a->id) + " " + a->mechanism + " " + a->authcid + (a->success ? " ok\n" : " bad\n");
      s.complete_auth(a->id, a->success, now);
    } else if (auto* i = std::get_if<ev::Idle>(&e)) {
      // No send_untagged here: whether a notification goes out before the client's DONE is
      // a race by nature (RFC 2177), not a function of the bytes; imap_session covers it.
      log += "idle " + std::to_string(i->id) + "\n";
    } else if (auto* d = std::get_if<ev::IdleDone>(&e)) {
      log += "idle done " + std::to_string(d->id) + (d->done ? " done\n" : " bad\n");
      Response r;
      r.status = d->done ? Response::Status::ok : Response::Status::bad;
      r.text = "idle over";
      s.complete(d->id, std::move(r), now);
    }
  };
  fuzz::check_segmentation("imap_segment", make, rest, (mode & 1) != 0, bound, answer);
  return 0;
}
