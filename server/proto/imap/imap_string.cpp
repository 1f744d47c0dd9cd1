// IMAP quoted / literal / NIL output (RFC 9051 §4.3, §9 quoted, literal, nstring). Quoted
// only for short TEXT-CHAR (7-bit, no CR/LF/NUL) text; otherwise a literal whose octet count
// matches what follows. NUL octets are dropped (§4.3: never in a literal). Pure.
#include "proto/imap/imap_string.h"

#include "core/assert.h"

namespace mail::imap {

namespace {
constexpr std::size_t kQuotedBytesMax = 1024;
}  // namespace

bool quotable(std::string_view s) noexcept {
  if (s.size() > kQuotedBytesMax) return false;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == 0 || c >= 0x80 || c == '\r' || c == '\n') return false;
  }
  return true;
}

void append_string(std::string& out, std::string_view s) {
  if (quotable(s)) {
    out.push_back('"');
    for (char c : s) {
      if (c == '"' || c == '\\') out.push_back('\\');  // §9 quoted-specials
      out.push_back(c);
    }
    out.push_back('"');
    return;
  }
  std::size_t n = 0;
  for (char c : s) n += c != '\0' ? 1 : 0;
  out.push_back('{');
  out.append(std::to_string(n));
  out.append("}\r\n");
  const std::size_t before = out.size();
  for (char c : s)
    if (c != '\0') out.push_back(c);
  MAIL_ASSERT(out.size() - before == n);
}

void append_nstring(std::string& out, const std::optional<std::string>& s) {
  if (!s) {
    out.append("NIL");
    return;
  }
  append_string(out, *s);
}

void append_nstring(std::string& out, std::optional<std::string_view> s) {
  if (!s) {
    out.append("NIL");
    return;
  }
  append_string(out, *s);
}

}  // namespace mail::imap
