// pop3::MessageWriter (see header). Must not: stuff differently from message/dot_stuff
// for the same content, or emit a terminator inside the content.
#include "proto/pop3/message_writer.h"

#include <cstring>

namespace mail::pop3 {

void MessageWriter::write(std::string_view chunk, std::string& out) {
  if (done_ || chunk.empty()) return;
  if (top_lines_) return write_top(chunk, out);
  out.reserve(out.size() + chunk.size() + 16);
  // Fast path: copy runs up to each '.' that starts a line, doubling it.
  std::size_t from = 0;
  while (from < chunk.size()) {
    const void* hit = std::memchr(chunk.data() + from, '.', chunk.size() - from);
    const std::size_t dot = hit == nullptr ? chunk.size() : static_cast<std::size_t>(static_cast<const char*>(hit) - chunk.data());
    if (dot == chunk.size()) break;
    const bool line_start = dot == 0 ? at_line_start_ : (chunk[dot - 1] == '\r' || chunk[dot - 1] == '\n');
    out.append(chunk.data() + from, dot + 1 - from);
    if (line_start) out += '.';
    from = dot + 1;
  }
  out.append(chunk.data() + from, chunk.size() - from);
  const char last = chunk.back();
  at_line_start_ = last == '\r' || last == '\n';
  last_was_lf_ = last == '\n';
}

void MessageWriter::write_top(std::string_view chunk, std::string& out) {
  for (char c : chunk) {
    if (at_line_start_ && c == '.') out += '.';
    out += c;
    at_line_start_ = c == '\r' || c == '\n';
    last_was_lf_ = c == '\n';
    if (c == '\n') {
      if (in_body_) {
        ++body_lines_;
      } else if (line_empty_) {
        in_body_ = true;  // the blank line after the header
      }
      line_empty_ = true;
      if (in_body_ && body_lines_ >= *top_lines_) {
        done_ = true;
        return;
      }
    } else if (c != '\r') {
      line_empty_ = false;
    }
  }
}

void MessageWriter::finish(std::string& out) {
  if (!last_was_lf_) out += "\r\n";
  out += ".\r\n";
  done_ = true;
}

}  // namespace mail::pop3
