// pop3::MessageWriter — the multi-line body of RETR / TOP (RFC 1939 §3, §7), produced in
// chunks so a large message never sits in memory dot-stuffed whole. A '.' at the start of
// the message or after any CR or LF octet is doubled (as message/dot_stuff.h, for the same
// smuggling reason); finish() adds CRLF if the content did not end in one, then ".\r\n".
// TOP n (RFC 1939 §7): the header, the blank line, then at most n body lines; the rest of
// the content is dropped (the writer reports done() so the reader can stop).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mail::pop3 {

class MessageWriter {
 public:
  // nullopt: the whole message (RETR); a count: TOP's body line count.
  explicit MessageWriter(std::optional<std::uint32_t> top_lines = std::nullopt) : top_lines_(top_lines) {}

  // Appends the stuffed form of `chunk` (the next bytes of the message) to `out`.
  void write(std::string_view chunk, std::string& out);
  // Appends the end of the body ("\r\n" if needed, then ".\r\n") to `out`.
  void finish(std::string& out);
  // TOP has everything it needs: further chunks are ignored.
  [[nodiscard]] bool done() const noexcept { return done_; }

 private:
  void write_top(std::string_view chunk, std::string& out);
  std::optional<std::uint32_t> top_lines_;
  bool at_line_start_ = true;   // the last octet written was CR or LF (or nothing yet)
  bool last_was_lf_ = true;     // ... and was LF (or nothing yet): a CRLF is complete
  bool line_empty_ = true;      // the line being written has no octet but CR so far
  bool in_body_ = false;        // TOP: the blank line was passed
  bool done_ = false;
  std::uint32_t body_lines_ = 0;
};

}  // namespace mail::pop3
