// Command-line framing: CRLF lines only (RFC 5321 §2.3.8), §4.5.3.1.4 length with bounded
// memory. The result depends only on the byte stream, never on how it was split into
// calls (the session's segmentation-invariance property relies on it). No I/O.
#include "proto/smtp/line_reader.h"

#include "proto/smtp/chars.h"

#include "core/assert.h"

namespace mail::smtp {

CommandLineReader::CommandLineReader(std::uint32_t line_bytes_max, std::uint32_t line_bytes_tolerated) noexcept
    : max_(line_bytes_max), tolerated_(line_bytes_tolerated) {
  MAIL_ASSERT(max_ >= 3);  // at least one octet plus CRLF
  MAIL_ASSERT(tolerated_ >= max_);
}

void CommandLineReader::reset() noexcept {
  discarding_ = false;
  discard_prev_cr_ = false;
  discarded_bytes_ = 0;
}

LineResult CommandLineReader::next(std::string_view in) noexcept {
  if (discarding_) return next_discarding(in);
  // A line that fits ends (CRLF included) within the first max_ bytes.
  const std::string_view window = in.substr(0, max_);
  const std::size_t pos = find_line_break(window);
  if (pos != std::string_view::npos) {
    if (window[pos] == '\n') return {LineStatus::bare_lf, pos + 1, {}};
    if (pos + 1 < in.size()) {
      if (in[pos + 1] != '\n') return {LineStatus::bare_cr, pos + 1, {}};
      if (pos + 2 <= max_) return {LineStatus::line, pos + 2, in.substr(0, pos)};
      // CRLF straddles the limit: the line is one octet too long. Fall through.
    } else if (pos + 2 <= max_) {
      return {LineStatus::need_more, 0, {}};  // a CR at the end: wait for its LF
    }
  } else if (in.size() < max_) {
    return {LineStatus::need_more, 0, {}};
  }
  // No line end fits in max_ octets: the line is too long whatever follows. Skip it from
  // here on without keeping its bytes (§4.5.3.1.4; Postfix line_length_limit behaviour).
  discarding_ = true;
  discard_prev_cr_ = false;
  discarded_bytes_ = 0;
  const LineResult r = next_discarding(in);
  MAIL_ASSERT(r.status != LineStatus::line);
  return r;
}

LineResult CommandLineReader::next_discarding(std::string_view in) noexcept {
  MAIL_ASSERT(discarding_);
  auto finish = [this](std::size_t consumed, std::uint64_t total) -> LineResult {
    reset();
    return {total > tolerated_ ? LineStatus::too_long_fatal : LineStatus::too_long, consumed, {}};
  };
  if (in.empty()) return {LineStatus::need_more, 0, {}};
  if (discard_prev_cr_) {
    discard_prev_cr_ = false;
    if (in[0] == '\n') return finish(1, discarded_bytes_ + 1);
    return {LineStatus::bare_cr, 1, {}};
  }
  const std::size_t pos = find_line_break(in);
  if (pos != std::string_view::npos) {
    if (in[pos] == '\n') return {LineStatus::bare_lf, pos + 1, {}};
    if (pos + 1 < in.size()) {
      if (in[pos + 1] != '\n') return {LineStatus::bare_cr, pos + 1, {}};
      return finish(pos + 2, discarded_bytes_ + pos + 2);
    }
    discard_prev_cr_ = true;  // the CR is the last byte; its LF may come next time
  }
  discarded_bytes_ += in.size();
  // The shortest possible line from here still needs its LF (and CR unless seen): once
  // even that passes the tolerated length, give up now instead of waiting for a CRLF
  // that a 10 MB line may never send.
  const std::uint64_t min_total = discarded_bytes_ + (discard_prev_cr_ ? 1 : 2);
  if (min_total > tolerated_) {
    reset();
    return {LineStatus::too_long_fatal, in.size(), {}};
  }
  return {LineStatus::need_more, in.size(), {}};
}

}  // namespace mail::smtp
