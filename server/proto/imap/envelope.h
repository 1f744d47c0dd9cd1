// The IMAP ENVELOPE of a message or encapsulated message (RFC 9051 §7.5.2 "ENVELOPE",
// grammar `envelope`): date, subject, from, sender, reply-to, to, cc, bcc, in-reply-to and
// message-id from the raw header (unfolded, NOT RFC 2047-decoded), address lists parsed per
// RFC 5322 §3.4 with group syntax and obsolete routes (§4.4). Sender and Reply-To default to
// From. Pure: no I/O; malformed addresses give best-effort output, never a failure.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/message/header.h"

namespace mail::imap {

struct EnvelopeAddress {
  std::optional<std::string> name;     // display name (quotes removed) or comment
  std::optional<std::string> adl;      // obsolete route "@a,@b"
  std::optional<std::string> mailbox;  // local part; group name at a group start
  std::optional<std::string> host;     // domain; nullopt marks group start / end
};

// RFC 5322 §3.4 address-list to IMAP addresses; a group becomes (NIL NIL "name" NIL)
// <members> (NIL NIL NIL NIL) (RFC 9051 §7.5.2). A mailbox without a domain gets host
// "MISSING_DOMAIN", an empty local part "MISSING_MAILBOX" (never NIL: NIL host means group).
[[nodiscard]] std::vector<EnvelopeAddress> parse_address_list(std::string_view unfolded);

// Appends the `envelope` production for the header `fields`.
void append_envelope(std::string& out, std::span<const message::HeaderField> fields);
// The `envelope` production for `header_block` (the header of a message).
[[nodiscard]] std::string envelope(std::string_view header_block);

}  // namespace mail::imap
