// The message content as the SMTP server receives it (after DATA unstuffing, or BDAT
// chunks): stores it up to a size budget and checks it on the way — bare CR / bare LF
// (RFC 5321 §2.3.8, SMTP smuggling) and NUL (RFC 2045 §2.8), text line length (§4.5.3.1.6), size (RFC 1870,
// §4.5.3.1.7) and the Received: hop count (§6.3). Memory is bounded by the budget: bytes
// past it are counted, not kept. No I/O; verdicts are values read at the end.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/smtp/limits.h"

namespace mail::smtp {

enum class ContentDefect : std::uint8_t {
  none,
  bare_cr_lf,     // 554 5.6.0 (§2.3.8)
  nul,            // 554 5.6.0: NUL is not text (RFC 2045 §2.7-2.8; a next hop may drop it, SECURITY.md §1)
  line_too_long,  // 554 5.6.0 (§4.5.3.1.6)
  too_big,        // 552 5.3.4 (RFC 1870 §6.3 / §4.5.3.1.7)
  too_many_hops,  // 554 5.4.6 (§6.3)
};

class ContentScanner {
 public:
  // `size_limit`: the smaller of message_bytes_max and a declared SIZE. `line_checks`:
  // false for BODY=BINARYMIME (RFC 3030 §3: CR and LF are just octets there).
  ContentScanner(const SmtpLimits& limits, std::uint64_t size_limit, bool line_checks);

  void append(std::string_view bytes);
  // The stream is complete: a CR still waiting for its LF is a bare CR.
  void finish() noexcept;

  // The first defect that applies, in this order: bare CR/LF, NUL, line length, size, hops.
  ContentDefect defect() const noexcept;
  bool too_big() const noexcept { return total_bytes_ > size_limit_; }
  std::uint64_t total_bytes() const noexcept { return total_bytes_; }
  std::uint32_t hops() const noexcept { return hops_; }
  std::size_t stored_bytes() const noexcept { return content_.size(); }
  // The content; only meaningful while !too_big() (otherwise it was not kept).
  std::string take_content() noexcept { return std::move(content_); }

 private:
  void scan(std::string_view bytes) noexcept;
  void on_line_byte(char c) noexcept;
  void end_line() noexcept;

  std::uint64_t text_line_bytes_max_;
  std::uint64_t header_bytes_max_;
  std::uint32_t hops_max_;
  std::uint64_t size_limit_;
  bool line_checks_;
  std::string content_;
  std::uint64_t total_bytes_ = 0;

  // Line structure.
  bool prev_cr_ = false;         // last byte was a CR not yet paired
  std::uint64_t line_bytes_ = 0; // octets of the current line so far, CR/LF included
  bool bare_cr_lf_ = false;
  bool nul_ = false;
  bool line_too_long_ = false;

  // Header section and hop counting: "Received" [WSP] ":" at the start of a line.
  bool in_header_ = true;
  std::uint64_t header_bytes_ = 0;
  int received_match_ = 0;  // octets of "received" matched at line start; -1 mismatch, 9 done
  std::uint32_t hops_ = 0;
};

}  // namespace mail::smtp
