// Builder of the "Received:" trace header a server prepends to each accepted message:
// RFC 5321 §4.4 (Time-stamp-line), RFC 3848 and RFC 6531 §3.7.3 "with" protocol names,
// RFC 5322 §3.3 date-time (UTC) and §2.1.1/§2.2.3 folding. Pure: no clock (time is an
// argument), no I/O, no DNS; peer-supplied text (the HELO name) is sanitised here.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/time.h"
#include "proto/smtp/envelope.h"

namespace mail::smtp {

struct ReceivedInfo {
  std::string_view helo;            // EHLO/HELO argument as sent (peer input: sanitised)
  std::string_view client_address;  // peer IP as text, "192.0.2.1" or "2001:db8::1"
  std::string_view hostname;        // our host name (configuration: asserted clean)
  bool esmtp = false;               // EHLO (true) or HELO
  bool tls = false;                 // STARTTLS or implicit TLS (RFC 3848 "S")
  bool auth = false;                // authenticated (RFC 3848 "A")
  bool utf8 = false;                // MAIL had SMTPUTF8 (RFC 6531 §3.7.3); needs esmtp
  std::string_view queue_id;        // "id" clause; empty to omit (asserted clean)
  std::span<const Recipient> recipients;  // "for <x>" only when there is exactly one
  WallTime time;                    // when the message was received
};

// RFC 3848 / RFC 6531 §3.7.3 protocol name: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA,
// UTF8SMTP, UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA. HELO sessions are "SMTP" whatever the
// other flags (no registered name combines HELO with TLS). Asserts !utf8 || esmtp.
std::string_view received_protocol(bool esmtp, bool tls, bool auth, bool utf8) noexcept;

// RFC 5322 §3.3 date-time in UTC without obsolete forms (RFC 5321 §4.4):
// "Thu, 26 Nov 2026 10:31:10 +0000". Sub-second digits are dropped (floor).
// Years 0000..9999 only (asserted).
std::string format_date_time(WallTime t);

// The complete header field, "Received: from ... ; <date-time>\r\n", folded with CRLF TAB
// so that every line is at most 78 octets excluding CRLF. Only a single word longer than
// a line (a 255-octet HELO or host name, a long recipient) can make a line longer; such a
// word sits alone on its line and lines stay under the 998-octet limit (RFC 5322 §2.1.1).
//   Received: from <helo> ([192.0.2.1])
//           by <hostname> with ESMTPS id <queue_id>
//           for <rcpt@example>; Thu, 26 Nov 2026 10:31:10 +0000
// The HELO is cut to 255 octets and every octet outside 0x21..0x7E, and each of
// ( ) ; \ " (which would end or confuse the clause), becomes '?'; an empty one is
// "unknown". A client address that is not a valid IP literal renders as "(unknown)".
std::string build_received(const ReceivedInfo& info);

// Convenience over a finished transaction's envelope (helo, extended_hello, client
// address, tls, auth_identity, mail_params.smtputf8, recipients).
std::string build_received(const Envelope& env, std::string_view hostname, std::string_view queue_id,
                           WallTime time);

}  // namespace mail::smtp
