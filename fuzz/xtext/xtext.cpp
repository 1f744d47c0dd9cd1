// libFuzzer target: the RFC 3461 §4 xtext codec (proto/smtp/params.h), the RFC 6533 §3
// utf-8-addr-xtext encoder and the DSN renderer fed with the same bytes (proto/message/dsn.h).
// Byte 0 picks RET=FULL (bit 0) and the action (bits 1-3); the rest is the input. Checks:
// decode never yields CR/LF/NUL; encode is 7-bit xtext that decodes back; decode of an
// encoding is the identity and re-encoding a decoded value is canonical (idempotent);
// utf-8-addr-xtext is printable ASCII; a DSN with the input as recipient, ORCPT, diagnostic,
// remote host and original has CRLF lines of at most 998 octets and 7-bit headers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "proto/message/dsn.h"
#include "proto/smtp/params.h"

using namespace mail;

namespace {
bool has_ctl(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos; }
bool xtext_chars(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 33 || u > 126 || c == '=') return false;
  }
  return true;
}
void check_wire(std::string_view s) {
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      MAIL_ASSERT(i + 1 < s.size() && s[i + 1] == '\n');
      ++i;
      run = 0;
    } else {
      MAIL_ASSERT(s[i] != '\n');
      MAIL_ASSERT(++run <= 998);
    }
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t knobs = data[0];
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  if (const auto d = smtp::xtext_decode(in)) {
    MAIL_ASSERT(!has_ctl(*d));
    const std::string canon = smtp::xtext_encode(*d);
    MAIL_ASSERT(smtp::xtext_decode(canon) == d);
    MAIL_ASSERT(smtp::xtext_encode(*smtp::xtext_decode(canon)) == canon);
  }
  const std::string enc = smtp::xtext_encode(in);
  MAIL_ASSERT(xtext_chars(enc));
  const auto back = smtp::xtext_decode(enc);
  MAIL_ASSERT(has_ctl(in) ? !back.has_value() : back == std::string(in));

  const std::string u = message::utf8_addr_xtext(in);
  for (char c : u) MAIL_ASSERT(c >= 0x21 && c <= 0x7E);

  message::DsnInput dsn;
  dsn.reporting_mta = "mx.a.test";
  dsn.to = in.empty() || in == "<>" ? std::string("a@a.test") : std::string(in);
  dsn.received_from = std::string(in);
  dsn.envid = std::string(in);
  dsn.message_id = "fuzz@mx.a.test";
  dsn.boundary = "fuzz-b";
  dsn.original = in;
  dsn.return_full = (knobs & 1) != 0;
  message::DsnRecipientReport r;
  r.final_recipient = std::string(in);
  r.original_recipient = std::string(in);
  r.action = static_cast<message::DsnAction>(((knobs >> 1) & 7) % 5);
  r.status = "5.1.1";
  r.remote_mta = std::string(in);
  r.diagnostic = std::string(in);
  r.will_retry_until = WallTime{0};
  dsn.recipients = {r, r};
  const std::string out = message::render_dsn(dsn);
  check_wire(out);
  const std::size_t body = out.find("\r\n\r\n");
  MAIL_ASSERT(body != std::string::npos);
  for (std::size_t i = 0; i < body; ++i) MAIL_ASSERT(static_cast<unsigned char>(out[i]) < 0x80);
  return 0;
}
