// Message submission header fix-ups (RFC 6409 §8.2 Date, §8.3 Message-ID) over the content
// of a submitted message: a scan of its header section (RFC 5322 §2.2, §3.6) and the header
// lines an MSA puts in front of it. Pure: no clock (time is an argument), no randomness (the
// unique token is an argument), no I/O; the content is never copied or modified here.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/time.h"

namespace mail::message {

struct HeaderScan {
  bool has_date = false;        // a "Date:" field (RFC 5322 §3.6.1)
  bool has_message_id = false;  // a "Message-ID:" field (RFC 5322 §3.6.4)
  bool has_from = false;        // a "From:" field (RFC 5322 §3.6.2)
  std::size_t header_bytes = 0; // up to and including the blank line, or the whole content if none
};

// Scans the header section: field names compared ASCII case-insensitively (RFC 5322 §1.2.2),
// with the obsolete white space before the colon allowed (§4.5); folded continuation lines
// (starting with SP or HTAB, §2.2.3) belong to the field above and are never fields
// themselves; the section ends at the first empty line. Lines end in CRLF; a bare LF also
// ends a line, so a "Date:" after one is seen, as a next hop would see it. A header section
// with no empty line is all header. Lines that are not fields are skipped.
HeaderScan scan_header_fields(std::string_view content);

// The header lines to put in front of `content` so that it has a Date: and a Message-ID:
// ("" when both exist): "Date: <RFC 5322 date-time of now, UTC>\r\n" and
// "Message-ID: <unique@hostname>\r\n", in that order, each a complete CRLF-terminated field.
// `unique` is the caller's token (queue id + random): non-empty dot-atom-text (asserted);
// `hostname` is our host name, the right side: dot-atom-text or a "[...]" literal (asserted).
std::string submission_fixups(std::string_view content, WallTime now, std::string_view unique,
                              std::string_view hostname);

}  // namespace mail::message
