// SMTP reply wire form: RFC 5321 §4.2 / §4.2.1 (multi-line "250-" continuation, "250 " last
// line, CRLF endings) and RFC 2034 §4 / RFC 3463 §2 enhanced status codes on every line.
// Pure formatting: no I/O, no allocation beyond the returned string. A CR or LF inside a
// line is a programmer error (reply injection), so it asserts rather than being escaped.
#include "proto/smtp/reply.h"

#include "core/assert.h"

namespace mail::smtp {

static_assert(sizeof(EnhancedCode) <= 8);
static_assert(sizeof(Reply) <= 64, "replies are queued per command; keep them small");

namespace {

void append_number(std::string& out, unsigned v) {
  char buf[8];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && n < 8);
  while (n > 0) out.push_back(buf[--n]);
}

}  // namespace

std::string EnhancedCode::to_string() const {
  // RFC 3463 §2: class "." subject "." detail, where class is 2, 4 or 5 and subject and
  // detail are 1*3 digits. An empty code has no textual form.
  if (empty()) return {};
  MAIL_ASSERT(cls == 2 || cls == 4 || cls == 5);
  MAIL_ASSERT(subject <= 999);
  MAIL_ASSERT(detail <= 999);
  std::string out;
  out.reserve(11);
  append_number(out, cls);
  out.push_back('.');
  append_number(out, subject);
  out.push_back('.');
  append_number(out, detail);
  return out;
}

std::string Reply::to_wire(bool enhanced_codes) const {
  MAIL_ASSERT(code >= 200);
  MAIL_ASSERT(code <= 599);
  MAIL_ASSERT(!lines.empty());
  // RFC 3463 §2: the class of the enhanced code repeats the first digit of the reply code;
  // a mismatch would tell the client two different stories.
  MAIL_ASSERT(enhanced.empty() || enhanced.cls == code / 100);

  const bool with_enh = enhanced_codes && !enhanced.empty();
  const std::string enh = with_enh ? enhanced.to_string() : std::string();
  std::size_t total = 0;
  for (const auto& l : lines) total += l.size() + enh.size() + 7;
  std::string out;
  out.reserve(total);

  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& text = lines[i];
    // A CR or LF would end the reply early and let the rest be read as another reply.
    MAIL_ASSERT(text.find('\r') == std::string::npos);
    MAIL_ASSERT(text.find('\n') == std::string::npos);
    const bool last = i + 1 == lines.size();
    append_number(out, code);
    // RFC 5321 §4.2.1: Reply-code "-" [textstring] on all lines but the last, which is
    // Reply-code [SP textstring]. RFC 2034 §4: every line's text starts with the code.
    std::string_view body = text;
    std::string prefixed;
    if (with_enh) {
      prefixed = text.empty() ? enh : enh + ' ' + text;
      body = prefixed;
    }
    if (!last) {
      out.push_back('-');
      out.append(body);
    } else if (!body.empty()) {
      out.push_back(' ');
      out.append(body);
    }
    out.append("\r\n");
  }
  MAIL_ASSERT(out.size() >= 5);
  return out;
}

}  // namespace mail::smtp
