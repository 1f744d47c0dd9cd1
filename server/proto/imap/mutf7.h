// Modified UTF-7 for IMAP mailbox names (RFC 3501 §5.1.3; RFC 9051 §5.1 keeps it for
// clients that have not enabled UTF8=ACCEPT) and a strict UTF-8 validator (RFC 3629 §4).
// Pure functions, no state. Strict decoding rejects every non-canonical form, so a name
// has exactly one encoding and names compare by bytes; the lenient flag accepts what
// sloppy clients send (and still never produces invalid UTF-8).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/utf8.h"

namespace mail::imap {

// True when `s` is well-formed UTF-8: shortest forms only, no surrogates, <= U+10FFFF.
using mail::is_valid_utf8;

// UTF-8 -> modified UTF-7. nullopt when `utf8` is not valid UTF-8. Printable ASCII other
// than "&" stands for itself, "&" becomes "&-", every other run is "&" + modified base64
// of its UTF-16BE + "-".
std::optional<std::string> mutf7_encode(std::string_view utf8);

// Modified UTF-7 -> UTF-8. Strict (lenient == false) rejects: octets outside 0x20..0x7E,
// an unterminated shift, base64 of printable ASCII, two adjacent shifts ("&AGE-&AGI-"),
// non-zero or over-long padding bits, unpaired surrogates. Lenient accepts all of those
// except bytes that cannot be decoded at all; an unpaired surrogate then becomes U+FFFD.
std::optional<std::string> mutf7_decode(std::string_view mutf7, bool lenient = false);

}  // namespace mail::imap
