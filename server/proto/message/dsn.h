// Delivery Status Notification renderer: a complete RFC 5322 message of type
// multipart/report; report-type=delivery-status (RFC 6522 §3, formerly RFC 3462) whose
// second part is message/delivery-status (RFC 3464 §2), filled as RFC 3461 §6 requires.
// Pure: no clock (times are arguments), no I/O, no randomness (the caller supplies the
// Message-ID and boundary). Peer text (remote replies, addresses, the Received-From name)
// is sanitised here so it can never start a header line or a MIME boundary; output has
// CRLF line ends only and no line over 998 octets (RFC 5322 §2.1.1). Not done: RFC 6533
// message/global-delivery-status (UTF-8 DSNs); non-ASCII addresses are rendered 7-bit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"

namespace mail::message {

// RFC 3464 §2.3.3 action-value.
enum class DsnAction : std::uint8_t { failed, delayed, delivered, relayed, expanded };
std::string_view to_string(DsnAction a) noexcept;  // "failed", "delayed", ...

struct DsnRecipientReport {
  std::string final_recipient;                    // "user@domain" (reported as "rfc822; user@domain")
  std::optional<std::string> original_recipient;  // decoded ORCPT "addr-type;address", e.g. "rfc822;user@x"
  DsnAction action = DsnAction::failed;
  std::string status;                     // RFC 3463 "5.1.1"; asserted well-formed
  std::string remote_mta;                 // host name, or empty: no Remote-MTA field
  std::string diagnostic;                 // SMTP reply text "550 5.1.1 ...", or empty: no Diagnostic-Code
  std::optional<WallTime> last_attempt;   // Last-Attempt-Date
  std::optional<WallTime> will_retry_until;  // Will-Retry-Until; rendered for action delayed only
};

struct DsnInput {
  std::string reporting_mta;         // our host name (asserted a clean word)
  std::string to;                    // original envelope sender; never empty (asserted): no DSN to <>
  std::optional<std::string> envid;  // decoded ENVID -> Original-Envelope-Id
  std::string received_from;         // "helo ([ip])" of the original client, or empty
  WallTime arrival{};                // Arrival-Date
  WallTime now{};                    // Date:
  std::vector<DsnRecipientReport> recipients;  // non-empty (asserted)
  bool return_full = false;          // RET=FULL
  std::string_view original;         // the original message (CRLF lines), may be empty
  std::string message_id;            // "left@host", without <> (asserted clean)
  std::string boundary;              // RFC 2046 §5.1.1 bchars, 1..60 (asserted); extended if it occurs in a part
  std::uint64_t max_return_bytes = 10 * 1024 * 1024;  // a larger original is returned as headers only
};

// The complete DSN message, ready to be queued from <> to `in.to` (RFC 3461 §6.1,
// RFC 5321 §4.5.5). Headers: From (MAILER-DAEMON@reporting_mta), To, Subject (by the
// worst action: failed > delayed > success), Date, Message-ID, Auto-Submitted:
// auto-replied (RFC 3834 §5), MIME-Version, Content-Type multipart/report. Parts:
//   1. text/plain us-ascii: a human explanation, one paragraph per recipient;
//   2. message/delivery-status: per-message fields, then one group per recipient
//      (RFC 3464 §2.2, §2.3), each group preceded by a blank line;
//   3. message/rfc822 with the whole original when RET=FULL, some recipient failed
//      (RFC 3461 §6.2: success and delay reports return headers only), the original is at
//      most max_return_bytes and has no line over 998 octets; otherwise
//      text/rfc822-headers with the original's header section (RFC 6522 §4). The human
//      part says when a requested full return was cut to headers.
// The returned part (and the whole message) is labelled 8bit when it holds 8-bit octets;
// every header and every delivery-status field is 7-bit: a non-ASCII address is written as
// "utf-8; " + RFC 6533 §3 utf-8-addr-xtext, a non-ASCII envelope sender makes the To:
// field the empty group "undisclosed-recipients:;" (the SMTP envelope still carries it).
// Diagnostics: CR/LF become spaces, other controls and 8-bit octets '?', cut at 2000
// octets, folded at spaces to 78-octet lines where possible.
std::string render_dsn(const DsnInput& in);

// RFC 3463 §2 status-code: class "." subject "." detail, class 2/4/5, subject and detail
// 1..3 digits without leading zeros beyond a single "0".
bool is_valid_status(std::string_view s) noexcept;

// The status to report when an SMTP reply carried no enhanced code: "2.0.0", "4.0.0" or
// "5.0.0" from the reply code's class (RFC 3463 §3.1, RFC 3461 §6.3(g)). Asserts
// 200 <= reply_code <= 599 and a class other than 3 (a 3xx reply ends no delivery).
std::string default_status(unsigned reply_code);

// RFC 6533 §3 utf-8-addr-xtext of a UTF-8 address: QCHAR as is, every other code point as
// "\x{HEX}" (upper-case, no leading zeros). Invalid UTF-8 octets become \x{FFFD}.
std::string utf8_addr_xtext(std::string_view addr);

}  // namespace mail::message
