// RFC 6409 §8.2 / §8.3 submission fix-ups: scan a message's header section for Date,
// Message-ID and From, and build the missing Date / Message-ID fields. Pure: the time and
// the unique token are arguments; no I/O, no allocation beyond the returned string.
// Peer content is never an assertion; the caller's token and host name are.
#include "proto/message/submission_headers.h"

#include "core/ascii.h"
#include "core/assert.h"
#include "proto/smtp/chars.h"
#include "proto/smtp/received.h"

namespace mail::message {

namespace {

// RFC 5322 §3.2.3 dot-atom-text = 1*atext *("." 1*atext).
bool is_dot_atom_text(std::string_view s) noexcept {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '.') {
      if (s[i - 1] == '.') return false;
    } else if (!smtp::is_atext(c)) {
      return false;
    }
  }
  return true;
}

// RFC 5322 §3.6.4 id-right = dot-atom-text / no-fold-literal ("[" *dtext "]").
bool is_id_right(std::string_view s) noexcept {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') {
    for (char ch : s.substr(1, s.size() - 2)) {
      const auto c = static_cast<unsigned char>(ch);
      if (c < 33 || c > 126 || c == '[' || c == ']' || c == '\\') return false;  // dtext
    }
    return true;
  }
  return is_dot_atom_text(s);
}

}  // namespace

HeaderScan scan_header_fields(std::string_view content) {
  HeaderScan scan;
  std::size_t pos = 0;
  while (pos < content.size()) {
    const std::size_t lf = content.find('\n', pos);
    const std::size_t next = lf == std::string_view::npos ? content.size() : lf + 1;
    std::string_view line = content.substr(pos, next - pos);
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() && lf != std::string_view::npos) {
      // RFC 5322 §2.1: the empty line separates the header section from the body.
      scan.header_bytes = next;
      MAIL_ASSERT(scan.header_bytes <= content.size());
      return scan;
    }
    pos = next;
    if (line.empty() || is_blank(static_cast<unsigned char>(line.front()))) continue;  // §2.2.3 folding
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // not a field (RFC 5322 §2.2 field-name ":")
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && is_blank(static_cast<unsigned char>(name.back()))) name.remove_suffix(1);  // §4.5
    if (iequals(name, "Date")) scan.has_date = true;
    if (iequals(name, "Message-ID")) scan.has_message_id = true;
    if (iequals(name, "From")) scan.has_from = true;
  }
  scan.header_bytes = content.size();
  return scan;
}

std::string submission_fixups(std::string_view content, WallTime now, std::string_view unique,
                              std::string_view hostname) {
  MAIL_ASSERT(is_dot_atom_text(unique));
  MAIL_ASSERT(is_id_right(hostname));
  const HeaderScan scan = scan_header_fields(content);
  std::string out;
  if (!scan.has_date) {
    // RFC 6409 §8.2; RFC 5322 §3.3 date-time, in UTC as every trace field we write.
    out.append("Date: ").append(smtp::format_date_time(now)).append("\r\n");
  }
  if (!scan.has_message_id) {
    // RFC 6409 §8.3; RFC 5322 §3.6.4 msg-id = "<" id-left "@" id-right ">".
    out.append("Message-ID: <").append(unique).append("@").append(hostname).append(">\r\n");
  }
  MAIL_ASSERT(out.empty() || out.substr(out.size() - 2) == "\r\n");
  return out;
}

}  // namespace mail::message
