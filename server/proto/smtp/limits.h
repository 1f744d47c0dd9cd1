// SMTP server limits and timeouts: every budget is a named field with its RFC clause.
// Checked before the work is done (STYLE.md habit 3). No I/O here.
#pragma once

#include <cstdint>

#include "core/time.h"

namespace mail::smtp {

struct SmtpLimits {
  std::uint32_t local_part_bytes_max = 64;     // RFC 5321 §4.5.3.1.1
  std::uint32_t domain_bytes_max = 255;        // RFC 5321 §4.5.3.1.2
  // RFC 5321 §4.5.3.1.3 says 256 incl. punctuation, but §4.5.3.1 makes every size there a
  // floor a receiver "MUST be able to receive", and 64 + "@" + 255 + "<>" = 322 > 256. We
  // take the smallest limit that receives every RFC-sized local part with every RFC-sized
  // domain (SECURITY.md §6 test 1); source routes count too. Set 256 for the strict reading.
  std::uint32_t path_bytes_max = 322;
  // RFC 5321 §4.5.3.1.4 sets a 512-octet floor (incl. CRLF) that extensions raise: with DSN,
  // RFC 3461 §5 requires at least 1036. We take Postfix's line_length_limit, 2048.
  std::uint32_t command_line_bytes_max = 2048;
  // Longer command lines are read and discarded (never buffered) up to this many bytes,
  // answered 500, and the session goes on; past it the connection is closed (a 10 MB line
  // without CRLF). SECURITY.md §6 test 2 wants a 100 KB command to leave the session usable.
  std::uint32_t command_line_bytes_tolerated = 128 * 1024;
  std::uint32_t text_line_bytes_max = 1000;   // RFC 5321 §4.5.3.1.6, incl. CRLF, excl. stuffing dot
  std::uint32_t recipients_max = 1000;        // RFC 5321 §4.5.3.1.8: at least 100 (Postfix 1000)
  std::uint64_t message_bytes_max = 35ull << 20;  // RFC 1870 SIZE advertised value
  std::uint32_t errors_max = 20;               // 421 and close past this (Postfix hard_error_limit)
  std::uint32_t errors_before_delay = 10;      // replies delayed after this (Postfix soft_error_limit)
  Duration error_delay = 1s;                   // Postfix smtpd_error_sleep_time
  std::uint32_t junk_commands_max = 100;       // NOOP/RSET/VRFY/HELP flood (Postfix junk_command_limit)
  std::uint32_t hops_max = 50;                 // Received: count, RFC 5321 §6.3 (Postfix hopcount_limit)
  std::uint32_t header_bytes_max = 100 * 1024; // header section cap for hop counting (Postfix header_size_limit)
  std::uint32_t pipelined_input_bytes_max = 64 * 1024;  // buffered while a verdict is pending

  // RFC 5321 §4.5.3.2 timeouts (server side).
  Duration command_timeout = 5min;       // §4.5.3.2.7 server timeout waiting for the next command
  Duration data_block_timeout = 3min;    // §4.5.3.2.5 data block
  Duration initial_idle_timeout = 5min;  // §4.5.3.2.1-like: after greeting before EHLO
};

static_assert(SmtpLimits{}.command_line_bytes_max >= 1036, "RFC 3461 section 5: DSN command lines");
static_assert(SmtpLimits{}.command_line_bytes_max <= SmtpLimits{}.command_line_bytes_tolerated);
static_assert(SmtpLimits{}.path_bytes_max >= 256, "RFC 5321 section 4.5.3.1.3 floor");
static_assert(SmtpLimits{}.path_bytes_max >=
                  SmtpLimits{}.local_part_bytes_max + 1 + SmtpLimits{}.domain_bytes_max + 2,
              "a path must fit the largest local part and domain (RFC 5321 section 4.5.3.1)");
static_assert(SmtpLimits{}.path_bytes_max < SmtpLimits{}.command_line_bytes_max,
              "a maximal path fits in one command line");
static_assert(SmtpLimits{}.recipients_max >= 100, "RFC 5321 section 4.5.3.1.8 requires at least 100");
static_assert(SmtpLimits{}.message_bytes_max >= 64 * 1024, "RFC 5321 section 4.5.3.1.7: at least 64K");

}  // namespace mail::smtp
