// DATA transparency and end-of-data detection (RFC 5321 §4.5.2, §4.1.1.4, §2.3.8).
// A five-state machine whose only exit is line_start "." CR LF; line_start is reached
// only through CR LF, so no bare CR or LF form can end the data. No I/O.
#include "proto/smtp/data_reader.h"

#include "core/assert.h"

namespace mail::smtp {

DataReadResult DataReader::read(std::string_view in, ContentScanner& sink) {
  std::size_t i = 0;
  std::size_t run_start = 0;  // start of bytes to pass through verbatim
  auto flush = [&](std::size_t end) {
    MAIL_ASSERT(run_start <= end);
    if (end > run_start) sink.append(in.substr(run_start, end - run_start));
    run_start = end;
  };
  while (i < in.size()) {
    const char c = in[i];
    switch (pos_) {
      case Pos::line_start:
        if (c == '.') {
          // Hold the dot back: it is either a stuffing dot (§4.5.2: "the first character
          // is deleted") or the start of the end-of-data line.
          flush(i);
          pos_ = Pos::dot;
          ++i;
          run_start = i;
        } else {
          pos_ = c == '\r' ? Pos::cr : Pos::in_line;
          ++i;
        }
        break;
      case Pos::dot:
        if (c == '\r') {
          pos_ = Pos::dot_cr;
          ++i;
          run_start = i;
        } else {
          // Other characters follow: the dot was stuffing and is dropped; the byte is
          // looked at again as ordinary line content (it may be a bare LF).
          pos_ = Pos::in_line;
          run_start = i;
        }
        break;
      case Pos::dot_cr:
        if (c == '\n') {
          // CRLF "." CRLF: the end of data. The preceding CRLF already went to the sink
          // as the end of the last line (§4.1.1.4).
          pos_ = Pos::line_start;
          MAIL_ASSERT(run_start == i);
          return {i + 1, true};
        }
        // ".\r" followed by something else: the CR is bare (the sink flags it) and the
        // byte is looked at again; the dot was stuffing.
        sink.append("\r");
        pos_ = Pos::in_line;
        run_start = i;
        break;
      case Pos::in_line: {
        // Skip to the next CR; a bare LF in between stays inside the line (it is content
        // the sink will flag, never a line start).
        const std::size_t j = in.find('\r', i);
        if (j == std::string_view::npos) {
          i = in.size();
        } else {
          pos_ = Pos::cr;
          i = j + 1;
        }
        break;
      }
      case Pos::cr:
        if (c == '\n') {
          pos_ = Pos::line_start;
          ++i;
        } else {
          pos_ = Pos::in_line;  // bare CR; look at this byte again (it may be a CR)
        }
        break;
    }
  }
  // Held-back bytes ("." or ".\r") stay in the state, not in the sink, until decided.
  if (pos_ != Pos::dot && pos_ != Pos::dot_cr) flush(in.size());
  MAIL_ASSERT(run_start <= in.size());
  return {in.size(), false};
}

}  // namespace mail::smtp
