// Dot-stuffing for outbound SMTP DATA and its inverse (RFC 5321 §4.5.2). Pure: no I/O.
// A '.' at a line start is doubled, where a line starts at offset 0 or after any CR or
// LF (not only CRLF), so no receiver's idea of a line end can see a premature
// end-of-data (Dovecot CVE-2026-33604, SMTP smuggling); see dot_stuff.h.
#include "proto/message/dot_stuff.h"

#include "core/assert.h"

namespace mail::message {

namespace {

bool ends_with_crlf(std::string_view s) noexcept {
  return s.size() >= 2 && s[s.size() - 2] == '\r' && s[s.size() - 1] == '\n';
}

bool is_eol_octet(char c) noexcept { return c == '\r' || c == '\n'; }

}  // namespace

std::string dot_stuff(std::string_view content) {
  std::string out;
  out.reserve(content.size() + content.size() / 64 + 8);
  for (std::size_t i = 0; i < content.size(); ++i) {
    const char c = content[i];
    if (c == '.' && (i == 0 || is_eol_octet(content[i - 1]))) out.push_back('.');
    out.push_back(c);
  }
  // §4.5.2: the terminating "." must be on a line of its own, so the content must end
  // with CRLF. A trailing bare CR stays content: CRLF is added after it, not merged.
  if (!content.empty() && !ends_with_crlf(content)) out.append("\r\n");
  out.append(".\r\n");
  MAIL_ASSERT(out.size() <= 2 * content.size() + 5);
  MAIL_ASSERT(ends_with_crlf(out));
  return out;
}

std::optional<std::string> dot_unstuff(std::string_view stuffed) {
  // The terminator: ".\r\n" at the end, starting the input or preceded by CRLF.
  if (stuffed.size() < 3 || stuffed.substr(stuffed.size() - 3) != ".\r\n") return std::nullopt;
  const std::size_t body_end = stuffed.size() - 3;
  if (body_end != 0 && !ends_with_crlf(stuffed.substr(0, body_end))) return std::nullopt;

  std::string out;
  out.reserve(body_end);
  std::size_t i = 0;
  while (i < body_end) {
    const char c = stuffed[i];
    const bool line_start = i == 0 || is_eol_octet(stuffed[i - 1]);
    if (c == '.' && line_start) {
      // A "." line of its own (CRLF-delimited) before the end is a premature terminator:
      // the input is not one stuffed body.
      const bool crlf_delimited = i == 0 || (i >= 2 && stuffed[i - 2] == '\r' && stuffed[i - 1] == '\n');
      if (crlf_delimited && stuffed.substr(i + 1, 2) == "\r\n") return std::nullopt;
      ++i;  // the stuffing dot: drop it and copy what follows verbatim
      if (i < body_end) out.push_back(stuffed[i++]);
      continue;
    }
    out.push_back(c);
    ++i;
  }
  MAIL_ASSERT(out.size() <= body_end);
  return out;
}

}  // namespace mail::message
