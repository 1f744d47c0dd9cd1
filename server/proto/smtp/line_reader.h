// Command-line framing for the SMTP server: finds the next CRLF-terminated line (RFC 5321
// §2.3.8, §4.1.1), refuses bare CR and bare LF (SMTP smuggling; Postfix
// smtpd_forbid_bare_newline) and enforces §4.5.3.1.4 with bounded memory: an over-long
// line is discarded as it arrives, never buffered. No I/O; the caller owns the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mail::smtp {

enum class LineStatus : std::uint8_t {
  need_more,      // no complete line yet; `consumed` bytes may be dropped (discard mode)
  line,           // `line` is a complete command line (CRLF stripped)
  too_long,       // a complete line longer than the limit was discarded: 500, carry on
  too_long_fatal, // the line passed the tolerated length without CRLF: 500 and close
  bare_lf,        // an LF without CR: 500 and close
  bare_cr,        // a CR not followed by LF: 500 and close
};

struct LineResult {
  LineStatus status = LineStatus::need_more;
  std::size_t consumed = 0;  // bytes of `in` used (including CRLF for a line)
  std::string_view line;     // for LineStatus::line: points into `in`
};

class CommandLineReader {
 public:
  CommandLineReader(std::uint32_t line_bytes_max, std::uint32_t line_bytes_tolerated) noexcept;

  // Looks at `in`, the unconsumed input starting at a line boundary or inside a line being
  // discarded. With need_more and consumed == 0 the caller keeps `in` and calls again with
  // more bytes appended; at most line_bytes_max bytes are ever left unconsumed.
  LineResult next(std::string_view in) noexcept;

  // True while an over-long line is being skipped (its bytes are not kept).
  bool discarding() const noexcept { return discarding_; }
  // Forget any partial over-long line (STARTTLS, close).
  void reset() noexcept;

 private:
  LineResult next_discarding(std::string_view in) noexcept;

  std::uint32_t max_;
  std::uint32_t tolerated_;
  bool discarding_ = false;
  bool discard_prev_cr_ = false;    // the last discarded byte was CR
  std::uint64_t discarded_bytes_ = 0;  // bytes of the over-long line seen so far
};

}  // namespace mail::smtp
