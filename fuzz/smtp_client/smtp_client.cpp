// libFuzzer target: smtp::ClientSession fed arbitrary server replies. Byte 0 picks the
// config (PIPELINING, BDAT, STARTTLS, require TLS) and the split size; the rest is what
// the "server" says. When byte 1 is 'A' the session also holds credentials (AUTH
// SCRAM-SHA-256 with a cheap fake Crypto, PLAIN or LOGIN, RFC 4954; cleartext allowed unless
// the knobs require TLS) and the server's bytes start at byte 2 (no older seed starts its
// reply with 'A'). Checks: no crash, bounded buffering, one result per transaction,
// nothing we send carries a bare CR or LF (RFC 5321 §2.3.8, SMTP smuggling outbound).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "fake_sasl.h"
#include "proto/smtp/client_session.h"

using namespace mail;
using namespace mail::smtp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t knobs = data[0];
  ClientConfig cfg;
  cfg.helo_name = "client.example.org";
  cfg.use_pipelining = (knobs & 1) != 0;
  cfg.use_chunking = (knobs & 2) != 0;
  cfg.use_starttls = (knobs & 4) != 0;
  cfg.require_tls = (knobs & 8) != 0;
  cfg.chunk_bytes = 1u + ((knobs >> 4) & 3u) * 7u;
  const bool auth = size >= 2 && data[1] == 'A';
  fuzz::FakeCrypto crypto;
  if (auth) {
    cfg.auth = ClientAuth{"user", "pencil", {sasl::Mechanism::scram_sha_256, sasl::Mechanism::plain, sasl::Mechanism::login},
                          (knobs & 8) == 0, &crypto};
  }
  const std::size_t split = (knobs >> 6) == 0 ? SIZE_MAX : (1u << ((knobs >> 6) * 2));  // whole, 4, 16, 64
  Instant now{};
  ClientSession s(cfg, now);
  std::string sent;
  std::size_t results = 0;
  auto drain = [&] {
    while (auto o = s.poll_output())
      if (auto* b = std::get_if<out::Send>(&*o)) sent += b->bytes;
    while (auto e = s.poll_event()) results += std::holds_alternative<ev::TransactionResult>(*e) ? 1 : 0;
  };
  for (int i = 0; i < 3; ++i) {
    MailTransaction tx;
    tx.mail_from = Path{Mailbox{"a", "example.org"}};
    for (int r = 0; r <= i; ++r) tx.recipients.push_back({Path{Mailbox{"r" + std::to_string(r), "example.net"}}, {}});
    tx.content = i == 1 ? "" : ".\r\n..x\r\nSubject: t\r\n\r\nbody" + std::string(i * 20, 'y');
    (void)s.submit(std::move(tx), now);
  }
  s.quit(now);
  drain();
  const std::size_t skip = auth ? 2 : 1;
  std::string_view in(reinterpret_cast<const char*>(data + skip), size - skip);
  while (!in.empty()) {
    const std::size_t n = in.size() < split ? in.size() : split;
    MAIL_ASSERT(s.feed(in.substr(0, n), now) == n);
    in.remove_prefix(n);
    drain();
    MAIL_ASSERT(s.buffered_bytes() <= cfg.reply_limits.line_bytes_tolerated + cfg.reply_limits.reply_bytes_max);
    if (s.state() == ClientState::tls_handshake) s.tls_established(now);
    now += 1s;
    drain();
  }
  if (auto t = s.poll_timeout(); t && (knobs & 0x30) == 0x30) s.handle_timeout(*t);
  s.feed_eof(now);
  drain();
  MAIL_ASSERT(s.closed());
  MAIL_ASSERT(results == 3);
  MAIL_ASSERT(!has_bare_cr_or_lf(sent));
  // Never a transaction without the 235 when credentials are held.
  MAIL_ASSERT(!auth || s.authenticated() || sent.find("MAIL FROM:") == std::string::npos);
  return 0;
}
