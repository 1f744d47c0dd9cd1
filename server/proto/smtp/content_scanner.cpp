// Message content checks shared by DATA and BDAT: RFC 5321 §2.3.8 (CRLF only), §4.5.3.1.6
// (1000-octet text lines), §4.5.3.1.7 / RFC 1870 (size), §6.3 (hop count). The outcome
// depends only on the byte stream, not on how it was split. No I/O, bounded memory.
#include "proto/smtp/content_scanner.h"

#include "proto/smtp/chars.h"

#include "core/assert.h"

namespace mail::smtp {

namespace {
constexpr std::string_view kReceived = "received";
}  // namespace

ContentScanner::ContentScanner(const SmtpLimits& limits, std::uint64_t size_limit, bool line_checks)
    : text_line_bytes_max_(limits.text_line_bytes_max),
      header_bytes_max_(limits.header_bytes_max),
      hops_max_(limits.hops_max),
      size_limit_(size_limit),
      line_checks_(line_checks) {
  MAIL_ASSERT(size_limit_ <= limits.message_bytes_max);
  MAIL_ASSERT(text_line_bytes_max_ >= 3);
}

void ContentScanner::append(std::string_view bytes) {
  MAIL_ASSERT(content_.size() <= size_limit_);
  total_bytes_ += bytes.size();
  if (total_bytes_ <= size_limit_) {
    content_.append(bytes);
  } else if (!content_.empty() || content_.capacity() != 0) {
    // Past the budget nothing more is kept; the bytes so far are released at once so a
    // too-big message costs no memory while the rest of it is read and counted.
    std::string().swap(content_);
  }
  scan(bytes);
  MAIL_ASSERT(content_.size() <= size_limit_);
}

void ContentScanner::finish() noexcept {
  // A CR at the very end has no LF after it: bare (§2.3.8).
  if (prev_cr_) bare_cr_lf_ = true;
  prev_cr_ = false;
}

ContentDefect ContentScanner::defect() const noexcept {
  if (line_checks_ && bare_cr_lf_) return ContentDefect::bare_cr_lf;
  if (line_checks_ && nul_) return ContentDefect::nul;
  if (line_checks_ && line_too_long_) return ContentDefect::line_too_long;
  if (too_big()) return ContentDefect::too_big;
  if (hops_ > hops_max_) return ContentDefect::too_many_hops;
  return ContentDefect::none;
}

void ContentScanner::end_line() noexcept {
  if (line_checks_ && line_bytes_ > text_line_bytes_max_) line_too_long_ = true;
  // The header section ends at the first empty line (RFC 5322 §2.1).
  if (in_header_ && line_bytes_ <= 2) in_header_ = false;
  line_bytes_ = 0;
  received_match_ = 0;
}

void ContentScanner::on_line_byte(char c) noexcept {
  // Hop counting (§6.3) looks at a field name "Received" (any case), optional blanks
  // (RFC 5322 §4.5.3 obsolete syntax), then ":" — only in the header section.
  if (!in_header_ || received_match_ < 0 || received_match_ > 8) return;
  if (received_match_ < 8) {
    received_match_ = ascii_lower(c) == kReceived[static_cast<std::size_t>(received_match_)] ? received_match_ + 1 : -1;
    return;
  }
  if (c == ':') {
    if (hops_ <= hops_max_) ++hops_;  // saturate just past the limit
    received_match_ = 9;
  } else if (c != ' ' && c != '\t') {
    received_match_ = -1;
  }
}

void ContentScanner::scan(std::string_view bytes) noexcept {
  std::size_t i = 0;
  while (i < bytes.size()) {
    const char c = bytes[i];
    if (in_header_) {
      header_bytes_ += 1;
      if (header_bytes_ > header_bytes_max_) in_header_ = false;  // stop counting hops
    }
    if (prev_cr_) {
      prev_cr_ = false;
      if (c == '\n') {
        ++line_bytes_;
        end_line();
        ++i;
        continue;
      }
      bare_cr_lf_ = true;  // the CR before this byte had no LF
      received_match_ = -1;
    }
    if (c == '\r') {
      prev_cr_ = true;
      ++line_bytes_;
      ++i;
      continue;
    }
    if (c == '\n') {
      bare_cr_lf_ = true;  // LF without CR
      ++line_bytes_;
      end_line();
      ++i;
      continue;
    }
    // An ordinary octet. NUL is not text: "\r\n\0.\r\n" would be an end of data to a
    // next hop that drops NULs. Match the field name byte by byte, then take the rest of
    // the run up to the next CR/LF/NUL in one step.
    if (c == '\0') nul_ = true;
    if (received_match_ >= 0 && received_match_ <= 8 && in_header_) {
      on_line_byte(c);
      ++line_bytes_;
      ++i;
      continue;
    }
    std::size_t j = find_line_break(bytes, i + 1, /*nul_too=*/true);
    if (j == std::string_view::npos) j = bytes.size();
    const std::size_t run = j - i;
    MAIL_ASSERT(run >= 1);
    line_bytes_ += run;
    if (in_header_) {
      header_bytes_ += run - 1;  // the first octet was counted above
      if (header_bytes_ > header_bytes_max_) in_header_ = false;
    }
    i = j;
  }
  // Flag a long line as soon as it is long, so the verdict does not wait for its end.
  if (line_checks_ && line_bytes_ > text_line_bytes_max_) line_too_long_ = true;
}

}  // namespace mail::smtp
