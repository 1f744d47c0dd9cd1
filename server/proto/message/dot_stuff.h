// SMTP DATA transparency (RFC 5321 §4.5.2) for outbound content: dot-stuffing and its
// exact inverse. Pure functions over strings: no I/O, no limits beyond the input size.
//
// Line starts, and why bare CR / LF count (Dovecot CVE-2026-33604, SMTP smuggling): we
// refuse to accept or relay content with bare CR or LF, but should any reach here, a
// next hop that ends lines at a bare CR or LF must not find "<EOL>.<EOL>" in it. So a '.'
// at the very start of the content or right after ANY CR or LF octet is doubled, not only
// after CRLF. The stuffed output therefore never holds "\r\n.\r\n", "\n.\n", "\r.\r" or any
// mix before its terminator. For CRLF-only content this is exactly RFC 5321 §4.5.2.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mail::message {

// Stuffed DATA body including the terminator. Non-empty content that does not end in
// CRLF gets one appended (§4.5.2: the terminator must start a line); empty content is
// just ".\r\n". Output size <= 2 * in.size() + 5.
std::string dot_stuff(std::string_view content);

// Inverse of dot_stuff over a complete stuffed body that ends in the terminator ".\r\n"
// (at the start of the input or after CRLF). A '.' at a line start (as above) is removed
// (§4.5.2 receiver rule), except that a CRLF-delimited line holding only "." is the
// terminator: nullopt when it occurs before the end, or when the terminator is missing.
// unstuff(stuff(x)) == x for every x that is empty or ends in CRLF.
std::optional<std::string> dot_unstuff(std::string_view stuffed);

}  // namespace mail::message
