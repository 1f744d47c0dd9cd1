// pop3::Limits — the named budgets of one POP3 session (STYLE.md habit 3), checked before
// the work. RFC 2449 §4: a command is at most 255 octets including CRLF (and SASL lines
// 255 too, RFC 5034 §4, for the initial response); we are lenient up to 512 like Dovecot
// and answer -ERR beyond, skipping the rest of the line. Past the error budget: close.
#pragma once

#include <cstdint>

namespace mail::pop3 {

struct Limits {
  std::uint32_t command_line_bytes_max = 512;  // incl. CRLF; RFC 2449 §4 asks for 255
  std::uint32_t errors_max = 20;               // -ERR for invalid commands before closing
  std::uint32_t errors_max_pre_auth = 10;      // the same before login (probes need few)
};

// RFC 2449 §4: servers MUST accept 255-octet commands.
static_assert(Limits{}.command_line_bytes_max >= 255);

}  // namespace mail::pop3
