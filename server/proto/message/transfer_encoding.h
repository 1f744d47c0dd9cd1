// Content-Transfer-Encoding decoding (RFC 2045 §6) for IMAP BINARY[] (RFC 3516 §4.2) and for
// search text: base64 (§6.8, lenient: non-alphabet octets skipped, stops at padding),
// quoted-printable (§6.7, lenient: malformed "=" kept literally, soft line breaks removed,
// trailing white space before a line end kept) and the identities 7bit, 8bit, binary.
// Pure: no I/O; output never larger than the input.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace mail::message {

[[nodiscard]] std::string decode_base64_lenient(std::string_view in);
[[nodiscard]] std::string decode_quoted_printable(std::string_view in);

// `body` decoded per `encoding` (the Content-Transfer-Encoding value, case-insensitive; empty
// means 7bit). An unknown encoding gives Errc::unsupported, so an IMAP server answers
// NO [UNKNOWN-CTE] (RFC 3516 §4.3).
[[nodiscard]] Result<std::string> decode_transfer(std::string_view body, std::string_view encoding);

}  // namespace mail::message
