// DATA content reader: RFC 5321 §4.5.2 transparency (dot-unstuffing) and §4.1.1.4 end of
// data. The ONLY end of data is CRLF "." CRLF (or "." CRLF as the very first line): bare
// LF / bare CR forms such as "\n.\n", "\r.\r", "\n.\r\n", "\r\n.\r" never end it (SMTP
// smuggling, SECURITY.md §1); they are passed on as content, where the ContentScanner marks
// the message tainted. No I/O; memory is bounded by the scanner's budget.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/smtp/content_scanner.h"

namespace mail::smtp {

struct DataReadResult {
  std::size_t consumed = 0;  // bytes of `in` used, through the final CRLF when done
  bool done = false;         // end of data seen; bytes after it are not consumed
};

class DataReader {
 public:
  // Reads content from `in` into `sink` (always the same one for one message). Stops
  // right after the end-of-data line.
  DataReadResult read(std::string_view in, ContentScanner& sink);

 private:
  // Where we are relative to line starts; only CRLF (never a bare CR or LF) gets us to
  // line_start, so only CRLF "." CRLF can reach the end.
  enum class Pos : std::uint8_t {
    line_start,  // after CRLF (or at the start of the data)
    dot,         // line_start then "."
    dot_cr,      // line_start then ".\r"
    in_line,     // inside a line
    cr,          // inside a line, after "\r"
  };
  Pos pos_ = Pos::line_start;
};

}  // namespace mail::smtp
