// libFuzzer target: segmentation invariance of a whole smtp::ServerSession (segment_oracle.h).
// Byte 0: bit 0 holds answers until feed() stops, bit 1 allows PLAIN/LOGIN without TLS, bit 2
// refuses some MAIL/RCPT/DATA verdicts, bit 3 turns PIPELINING off. Then the split layout
// and the client's bytes. The application's verdict is a pure function of the event.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/hash.h"
#include "fake_sasl.h"
#include "proto/smtp/server_session.h"
#include "segment_oracle.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mail;
  using namespace mail::smtp;
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  fuzz::FakeCrypto crypto;
  fuzz::FakeStore store;
  ServerConfig config;
  config.starttls_available = false;       // after STARTTLS the split changes meaning (RFC 3207 §4.2)
  config.reject_pipelined_data = false;    // judges what arrived together, by design
  config.pipelining = (mode & 8) == 0;
  config.limits.message_bytes_max = 4096;
  config.limits.pipelined_input_bytes_max = 512;
  config.limits.recipients_max = 4;
  config.auth.crypto = &crypto;
  config.auth.credentials = &store;
  config.auth.plaintext_without_tls = (mode & 2) != 0;
  const std::size_t bound = 4096 + 512 + config.limits.command_line_bytes_max;
  auto make = [&] { return std::make_unique<ServerSession>(config, SessionInfo{}, Instant{}); };
  auto answer = [&](ServerSession& s, Event& e, std::string& log, Instant now) {
    auto verdict = [&](EventId id, bool ok) {
      const bool refuse = (mode & 4) != 0 && id % 3 == 0;
      if (!ok || refuse) return Reply::make(id % 2 ? 550 : 451, {static_cast<std::uint8_t>(id % 2 ? 5 : 4), 7, 1}, "no");
      return Reply::make(250, {2, 0, 0}, "Ok");
    };
    if (auto* h = std::get_if<ev::Helo>(&e)) {
      log += "helo " + h->name + (h->extended ? " ehlo\n" : "\n");
    } else if (auto* m = std::get_if<ev::MailFrom>(&e)) {
      log += "mail " + std::to_string(m->id) + " " + m->path.to_string() + "\n";
      s.complete(m->id, verdict(m->id, true), now);
    } else if (auto* r = std::get_if<ev::RcptTo>(&e)) {
      log += "rcpt " + std::to_string(r->id) + " " + r->path.to_string() + "\n";
      s.complete(r->id, verdict(r->id, true), now);
    } else if (auto* g = std::get_if<ev::Message>(&e)) {
      log += "message " + std::to_string(g->id) + " from " + g->envelope.mail_from.to_string() + " rcpts " +
             std::to_string(g->envelope.recipients.size()) + " bytes " + std::to_string(g->content.size()) + " fnv " +
             std::to_string(fnv1a64(g->content)) + "\n";
      s.complete(g->id, verdict(g->id, true), now);
    } else if (auto* a = std::get_if<ev::Auth>(&e)) {
      log += "auth " + std::to_string(a->id) + " " + a->mechanism + " " + a->authcid + (a->success ? " ok\n" : " bad\n");
      s.complete(a->id, a->success ? Reply::make(235, {2, 7, 0}, "ok") : Reply::make(535, {5, 7, 8}, "no"), now);
    } else if (std::holds_alternative<ev::TransactionReset>(e)) {
      log += "reset\n";
    } else if (auto* j = std::get_if<ev::Rejected>(&e)) {
      log += "rejected " + j->stage + " " + std::to_string(j->reply.code) + " " + j->argument + "\n";
    } else if (auto* c = std::get_if<ev::Closed>(&e)) {
      log += "closed " + c->reason + "\n";
    }
  };
  fuzz::check_segmentation("smtp_segment", make, rest, (mode & 1) != 0, bound, answer);
  return 0;
}
