// libFuzzer target: the RFC 5321 §4.1.2 path parser and the ESMTP parameter parsers
// (RFC 1870, 3461, 4954, 6152, 6531). Byte 0 picks allow_utf8 (bit 0), allow_null (bit 1),
// AUTH (2), DSN off (3), 8BITMIME off (4), BINARYMIME off (5), strict 256-octet path (6),
// no size limit (7); the rest is "<path> params". Checks: a parsed path round-trips through
// to_string(); canonical() is idempotent; decoded parameter values never hold CR/LF/NUL.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "proto/message/dot_stuff.h"
#include "proto/smtp/address.h"
#include "proto/smtp/params.h"

using namespace mail;
using namespace mail::smtp;

namespace {
bool clean(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t knobs = data[0];
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool utf8 = (knobs & 1) != 0, allow_null = (knobs & 2) != 0;
  SmtpLimits limits;
  if (knobs & 0x40) limits.path_bytes_max = 256;
  Extensions ext;
  ext.auth = (knobs & 4) != 0;
  ext.dsn = (knobs & 8) == 0;
  ext.eight_bit_mime = (knobs & 16) == 0;
  ext.binary_mime = (knobs & 32) == 0;
  ext.message_bytes_max = (knobs & 0x80) ? 0 : limits.message_bytes_max;

  std::string_view rest = in;
  const PathParse p = parse_path(in, limits, utf8, allow_null);
  if (p.path) {
    MAIL_ASSERT(p.consumed >= 2 && p.consumed <= in.size());
    MAIL_ASSERT(in[p.consumed - 1] == '>');
    const std::string wire = p.path->to_string();
    const PathParse again = parse_path(wire, limits, utf8, allow_null);
    MAIL_ASSERT(again.path.has_value());
    MAIL_ASSERT(*again.path == *p.path);
    MAIL_ASSERT(again.consumed == wire.size());
    if (const auto& m = p.path->mailbox) {
      MAIL_ASSERT(utf8 || !m->needs_smtputf8());
      MAIL_ASSERT(m->domain.front() == '[' ? is_valid_address_literal(m->domain) : is_valid_domain(m->domain, utf8));
      const Mailbox c = canonical(*m);
      MAIL_ASSERT(canonical(c) == c);
      const auto cm = parse_mailbox(c.to_string(), limits, utf8);
      MAIL_ASSERT(cm.has_value());
      MAIL_ASSERT(*cm == c);
    }
    rest = in.substr(p.consumed);
  } else {
    MAIL_ASSERT(p.consumed == 0);
  }

  const MailParamsParse mp = parse_mail_params(rest, ext);
  if (mp.params) {
    MAIL_ASSERT(!mp.params->envid || clean(*mp.params->envid));
    MAIL_ASSERT(!mp.params->auth || clean(*mp.params->auth));
  } else {
    MAIL_ASSERT(mp.error.code == 501 || mp.error.code == 552 || mp.error.code == 555);
    MAIL_ASSERT(clean(mp.error.text));
  }
  const RcptParamsParse rp = parse_rcpt_params(rest, ext);
  if (rp.params) {
    MAIL_ASSERT(!rp.params->orcpt || clean(*rp.params->orcpt));
  } else {
    MAIL_ASSERT(rp.error.code == 501 || rp.error.code == 555);
    MAIL_ASSERT(clean(rp.error.text));
  }

  if (const auto d = xtext_decode(rest)) {
    MAIL_ASSERT(clean(*d));
    MAIL_ASSERT(xtext_decode(xtext_encode(*d)) == d);
  }
  (void)is_valid_domain(rest, utf8);
  (void)is_valid_address_literal(rest);
  if (rest.size() >= 2 && rest.substr(rest.size() - 2) == "\r\n") {
    MAIL_ASSERT(message::dot_unstuff(message::dot_stuff(rest)) == std::string(rest));
  }
  return 0;
}
