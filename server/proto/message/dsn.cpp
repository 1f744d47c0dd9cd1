// DSN rendering: RFC 3464 message/delivery-status inside an RFC 6522 multipart/report, with
// the RFC 3461 §6 field rules, RFC 3463 status codes and RFC 6533 §3 utf-8-addr-xtext.
// Pure: no clock, no I/O. Everything that came from a peer is passed through sanitise_*()
// or an xtext form before it reaches a header-like line, so no input can add a field, end
// the header section or produce a MIME delimiter (the boundary is checked against every
// part and lengthened if it occurs). Must not emit a bare CR or LF or a line over 998 octets.
#include "proto/message/dsn.h"

#include <algorithm>

#include "core/assert.h"
#include "proto/smtp/params.h"
#include "proto/smtp/received.h"

namespace mail::message {

namespace {

constexpr std::size_t kFoldBytes = 78;             // RFC 5322 §2.1.1 SHOULD (excluding CRLF)
constexpr std::size_t kLineBytesMax = 998;         // RFC 5322 §2.1.1 MUST (excluding CRLF)
constexpr std::size_t kWordBytesMax = 900;         // longer runs without a space are cut into pieces
constexpr std::size_t kDiagnosticBytesMax = 2000;  // enough for any sane multi-line reply
constexpr std::size_t kHostBytesMax = 255;         // RFC 5321 §4.5.3.1.2
constexpr std::size_t kReceivedFromBytesMax = 600;
constexpr std::size_t kEnvidBytesMax = 500;        // RFC 3461 §4.4 allows 100 (xtext); generous
constexpr std::size_t kHeaderAddressBytesMax = 900;
constexpr std::size_t kBoundaryBytesMax = 60;      // RFC 2046 §5.1.1 allows 70: room for a suffix
constexpr std::size_t kBoundaryLimit = 70;         // RFC 2046 §5.1.1

static_assert(kWordBytesMax + 40 < kLineBytesMax);   // a field name plus one piece fits
static_assert(kHostBytesMax + 40 < kLineBytesMax);
static_assert(kHeaderAddressBytesMax + 10 < kLineBytesMax);
static_assert(kBoundaryBytesMax < kBoundaryLimit);

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Our own configuration text (host names, Message-ID): must already be one clean word.
bool clean_word(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) return false;
    if (c == '(' || c == ')' || c == ';' || c == '<' || c == '>' || c == '"' || c == '\\') return false;
  }
  return true;
}

// RFC 2046 §5.1.1 bchars (without the space, which may not end a boundary anyway).
bool valid_boundary(std::string_view b) noexcept {
  if (b.empty() || b.size() > kBoundaryBytesMax) return false;
  static constexpr std::string_view kExtra = "'()+_,-./:=?";
  for (char c : b) {
    const bool alnum = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && kExtra.find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool printable_ascii(std::string_view s) noexcept {  // 0x20..0x7E only
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u <= 0x7E;
  });
}

bool has_8bit(std::string_view s) noexcept {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// Peer text for a field value or the human part: CR, LF and TAB become spaces (a
// multi-line reply reads as one line), other controls and 8-bit octets '?', so nothing
// can start a new line. Cut at `max` octets.
std::string sanitise_text(std::string_view s, std::size_t max) {
  if (s.size() > max) s = s.substr(0, max);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r' || c == '\n' || c == '\t') {
      out.push_back(' ');
    } else if (u < 0x20 || u >= 0x7F) {
      out.push_back('?');
    } else {
      out.push_back(c);
    }
  }
  MAIL_ASSERT(printable_ascii(out));
  return out;
}

// Peer host name (Remote-MTA): one word, as received.cpp does for the HELO name.
std::string sanitise_host(std::string_view s) {
  if (s.size() > kHostBytesMax) s = s.substr(0, kHostBytesMax);
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    const bool bad = u < 0x21 || u > 0x7E || c == '(' || c == ')' || c == ';' || c == '\\' || c == '"' ||
                     c == '<' || c == '>';
    out.push_back(bad ? '?' : c);
  }
  if (out.empty()) out = "unknown";
  MAIL_ASSERT(clean_word(out));
  return out;
}

// Appends `value` (printable ASCII) after `first`, folded at spaces so lines stay within
// kFoldBytes where the words allow; continuation lines start with `cont` (which must begin
// with white space for a header field, RFC 5322 §2.2.3). A run of more than kWordBytesMax
// octets without a space is cut into pieces (unfolding then shows a space at each cut),
// which bounds every line below 998 octets. Ends with CRLF.
void append_folded(std::string& out, std::string_view first, std::string_view cont, std::string_view value) {
  MAIL_ASSERT(printable_ascii(value));
  MAIL_ASSERT(first.size() + kWordBytesMax < kLineBytesMax);
  MAIL_ASSERT(cont.size() + kWordBytesMax < kLineBytesMax);
  out.append(first);
  std::size_t line = first.size();
  bool line_has_word = false;
  std::size_t i = 0;
  while (i < value.size()) {
    if (value[i] == ' ') {
      ++i;
      continue;
    }
    std::size_t end = value.find(' ', i);
    if (end == std::string_view::npos) end = value.size();
    const std::string_view word = value.substr(i, std::min(end - i, kWordBytesMax));
    i += word.size();
    const std::size_t sep = line_has_word ? 1 : 0;
    if (line_has_word && line + sep + word.size() > kFoldBytes) {
      out.append("\r\n").append(cont);
      line = cont.size();
      line_has_word = false;
    }
    if (line_has_word) {
      out.push_back(' ');
      ++line;
    }
    out.append(word);
    line += word.size();
    line_has_word = true;
    MAIL_ASSERT(line <= kLineBytesMax);
  }
  out.append("\r\n");
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  std::string first(name);
  first.append(": ");
  append_folded(out, first, " ", value);
}

// Decodes one UTF-8 code point at s[i]; returns 0xFFFD and advances one octet on malformed
// input (overlong, surrogate, out of range, truncated).
char32_t next_code_point(std::string_view s, std::size_t& i) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  std::size_t n = 0;
  char32_t cp = 0, min = 0;
  if ((b0 & 0xE0) == 0xC0) { n = 1; cp = b0 & 0x1F; min = 0x80; }
  else if ((b0 & 0xF0) == 0xE0) { n = 2; cp = b0 & 0x0F; min = 0x800; }
  else if ((b0 & 0xF8) == 0xF0) { n = 3; cp = b0 & 0x07; min = 0x10000; }
  else { ++i; return 0xFFFD; }
  if (i + n >= s.size()) { ++i; return 0xFFFD; }
  for (std::size_t k = 1; k <= n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) { ++i; return 0xFFFD; }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) { ++i; return 0xFFFD; }
  i += n + 1;
  return cp;
}

// An address for Final-Recipient / Original-Recipient: "rfc822; a@b" when it is printable
// ASCII (RFC 3461 §6.3(e)), else "utf-8; " + utf-8-addr-xtext (RFC 6533 §3), which is
// 7-bit, so message/delivery-status stays 7-bit.
std::string typed_address(std::string_view type, std::string_view addr) {
  if (printable_ascii(addr) && !addr.empty()) {
    std::string out(type);
    out.append("; ").append(addr);
    return out;
  }
  std::string out = "utf-8; ";
  out.append(utf8_addr_xtext(addr));
  return out;
}

// An atom-like addr-type (RFC 3464 §2.1.2 address-type = atom); anything else is unusable.
bool valid_addr_type(std::string_view t) noexcept {
  if (t.empty() || t.size() > 64) return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_' || c == '.';
  });
}

// "a" + b built by appending (GCC 12 -Wrestrict false positive on operator+ with a literal).
std::string cat(std::string_view a, std::string_view b) {
  std::string out(a);
  out.append(b);
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

bool is_rfc822_type(std::string_view t) noexcept {
  static constexpr std::string_view kWord = "rfc822";
  if (t.size() != kWord.size()) return false;
  for (std::size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kWord[i]) return false;
  }
  return true;
}

// RFC 3461 §6.3(d): Original-Recipient is the decoded ORCPT, "addr-type;address".
std::string original_recipient_value(std::string_view orcpt) {
  const std::size_t semi = orcpt.find(';');
  std::string type = semi == std::string_view::npos ? std::string("rfc822") : trim(orcpt.substr(0, semi));
  const std::string addr = trim(semi == std::string_view::npos ? orcpt : orcpt.substr(semi + 1));
  if (!valid_addr_type(type)) type = "unknown";
  const bool utf8_family = type == "utf-8" || is_rfc822_type(type);
  if (printable_ascii(addr) && !addr.empty()) return cat(cat(type, "; "), addr);
  if (utf8_family) return typed_address("utf-8", addr);
  // Another address type with 8-bit or control octets: RFC 3461 §4 xtext keeps it 7-bit.
  std::string out = type;
  out.append("; ").append(smtp::xtext_encode(addr));
  return out;
}

std::string status_line_address(const DsnRecipientReport& r) {
  return typed_address("rfc822", r.final_recipient);
}

// The address as shown in text: the value part of the Final-Recipient rendering.
std::string display_address(const DsnRecipientReport& r) {
  const std::string t = status_line_address(r);
  const std::size_t semi = t.find("; ");
  MAIL_ASSERT(semi != std::string::npos);
  return t.substr(semi + 2);
}

enum class Worst : std::uint8_t { success, delayed, failed };

Worst worst_of(const std::vector<DsnRecipientReport>& rs) noexcept {
  Worst w = Worst::success;
  for (const auto& r : rs) {
    if (r.action == DsnAction::failed) return Worst::failed;
    if (r.action == DsnAction::delayed) w = Worst::delayed;
  }
  return w;
}

std::string_view subject_for(Worst w) noexcept {
  switch (w) {
    case Worst::failed: return "Undelivered Mail Returned to Sender";
    case Worst::delayed: return "Delayed Mail (still being retried)";
    case Worst::success: return "Successful Mail Delivery Report";
  }
  MAIL_UNREACHABLE();
}

std::string_view action_phrase(DsnAction a) noexcept {
  switch (a) {
    case DsnAction::failed: return "delivery failed; no further attempts will be made";
    case DsnAction::delayed: return "delivery delayed; still being retried";
    case DsnAction::delivered: return "delivered";
    case DsnAction::relayed: return "relayed to a system that sends no delivery notifications";
    case DsnAction::expanded: return "delivered and forwarded to further recipients";
  }
  MAIL_UNREACHABLE();
}

// The original's header section (RFC 5322 §2.1): everything up to and including the line
// end that precedes the first empty line; the whole text when there is no empty line.
std::string_view header_section(std::string_view msg) noexcept {
  // CR, LF and CRLF each end a line here, as append_content() will render them.
  std::size_t start = 0;
  while (start < msg.size()) {
    const std::size_t end = msg.find_first_of("\r\n", start);
    if (end == std::string_view::npos) return msg;
    if (end == start) return msg.substr(0, start);  // the empty line
    start = end + ((msg[end] == '\r' && end + 1 < msg.size() && msg[end + 1] == '\n') ? 2 : 1);
  }
  return msg;
}

bool has_long_line(std::string_view s) noexcept {
  std::size_t run = 0;
  for (char c : s) {
    if (c == '\r' || c == '\n') {
      run = 0;
    } else if (++run > kLineBytesMax) {
      return true;
    }
  }
  return false;
}

// Appends `s` with every line end made CRLF (a bare CR or LF in a stored original must
// not reach the wire) and lines over 998 octets cut; the result ends with CRLF unless empty.
void append_content(std::string& out, std::string_view s) {
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      out.append("\r\n");
      run = 0;
      continue;
    }
    if (run == kLineBytesMax) {
      out.append("\r\n");
      run = 0;
    }
    out.push_back(c);
    ++run;
  }
  if (run != 0) out.append("\r\n");
}

std::string human_part(const DsnInput& in, Worst worst, bool cut_to_headers) {
  std::string t = "Content-Type: text/plain; charset=us-ascii\r\n"
                  "Content-Description: Notification\r\n"
                  "Content-Transfer-Encoding: 7bit\r\n\r\n";
  t.append("This is the mail system at host ").append(in.reporting_mta).append(".\r\n\r\n");
  switch (worst) {
    case Worst::failed:
      t.append("Your message could not be delivered to one or more recipients.\r\n"
               "The delivery report and the returned message are attached below.\r\n");
      break;
    case Worst::delayed:
      t.append("Your message has not yet been delivered to one or more recipients.\r\n"
               "Delivery is still being attempted; you do not need to resend it.\r\n");
      break;
    case Worst::success:
      t.append("Your message was delivered as reported below.\r\n");
      break;
  }
  for (const auto& r : in.recipients) {
    t.append("\r\n");
    std::string head = display_address(r);
    head.append(": ").append(action_phrase(r.action));
    append_folded(t, "", "    ", head);
    append_folded(t, "    Status: ", "      ", r.status);
    if (!r.remote_mta.empty()) append_folded(t, "    Remote host: ", "      ", sanitise_host(r.remote_mta));
    if (!r.diagnostic.empty()) {
      append_folded(t, "    Reply: ", "      ", sanitise_text(r.diagnostic, kDiagnosticBytesMax));
    }
    if (r.action == DsnAction::delayed && r.will_retry_until) {
      append_folded(t, "    Will retry until: ", "      ", smtp::format_date_time(*r.will_retry_until));
    }
  }
  if (cut_to_headers) {
    t.append("\r\nThe original message was too large to return in full (")
        .append(std::to_string(in.original.size()))
        .append(" octets);\r\nonly its headers are attached.\r\n");
  }
  return t;
}

// RFC 3464 §2.2 per-message fields, then per recipient (§2.3) a blank line and its group.
std::string status_part(const DsnInput& in) {
  std::string s = "Content-Type: message/delivery-status\r\n"
                  "Content-Description: Delivery report\r\n"
                  "Content-Transfer-Encoding: 7bit\r\n\r\n";
  if (in.envid) append_field(s, "Original-Envelope-Id", sanitise_text(*in.envid, kEnvidBytesMax));  // §2.2.1
  append_field(s, "Reporting-MTA", cat("dns; ", in.reporting_mta));                                     // §2.2.2
  if (!in.received_from.empty()) {                                                                    // §2.2.4
    append_field(s, "Received-From-MTA", cat("dns; ", sanitise_text(in.received_from, kReceivedFromBytesMax)));
  }
  append_field(s, "Arrival-Date", smtp::format_date_time(in.arrival));  // §2.2.5
  for (const auto& r : in.recipients) {
    s.append("\r\n");
    if (r.original_recipient) append_field(s, "Original-Recipient", original_recipient_value(*r.original_recipient));  // §2.3.1
    append_field(s, "Final-Recipient", status_line_address(r));  // §2.3.2
    append_field(s, "Action", to_string(r.action));              // §2.3.3
    append_field(s, "Status", r.status);                         // §2.3.4
    if (!r.remote_mta.empty()) append_field(s, "Remote-MTA", cat("dns; ", sanitise_host(r.remote_mta)));  // §2.3.5
    if (!r.diagnostic.empty()) {                                                                     // §2.3.6
      append_field(s, "Diagnostic-Code", cat("smtp; ", sanitise_text(r.diagnostic, kDiagnosticBytesMax)));
    }
    if (r.last_attempt) append_field(s, "Last-Attempt-Date", smtp::format_date_time(*r.last_attempt));  // §2.3.7
    if (r.action == DsnAction::delayed && r.will_retry_until) {                                          // §2.3.9
      append_field(s, "Will-Retry-Until", smtp::format_date_time(*r.will_retry_until));
    }
  }
  return s;
}

std::string returned_part(std::string_view original, bool full) {
  const std::string_view body = full ? original : header_section(original);
  std::string p = full ? "Content-Type: message/rfc822\r\nContent-Description: Undelivered Message\r\n"
                       : "Content-Type: text/rfc822-headers\r\nContent-Description: Message Headers\r\n";
  // RFC 2046 §5.2.1: message/rfc822 allows only 7bit, 8bit or binary.
  p.append(has_8bit(body) ? "Content-Transfer-Encoding: 8bit\r\n\r\n" : "Content-Transfer-Encoding: 7bit\r\n\r\n");
  append_content(p, body);
  return p;
}

}  // namespace

std::string_view to_string(DsnAction a) noexcept {
  switch (a) {
    case DsnAction::failed: return "failed";
    case DsnAction::delayed: return "delayed";
    case DsnAction::delivered: return "delivered";
    case DsnAction::relayed: return "relayed";
    case DsnAction::expanded: return "expanded";
  }
  MAIL_UNREACHABLE();
}

bool is_valid_status(std::string_view s) noexcept {
  if (s.size() < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.') return false;
  std::string_view rest = s.substr(2);
  for (int part = 0; part < 2; ++part) {
    std::size_t n = 0;
    while (n < rest.size() && is_digit(rest[n])) ++n;
    if (n == 0 || n > 3) return false;
    if (n > 1 && rest[0] == '0') return false;  // RFC 3463 §2: without leading zero digits
    rest.remove_prefix(n);
    if (part == 0) {
      if (rest.empty() || rest[0] != '.') return false;
      rest.remove_prefix(1);
    }
  }
  return rest.empty();
}

std::string default_status(unsigned reply_code) {
  MAIL_ASSERT(reply_code >= 200);
  MAIL_ASSERT(reply_code <= 599);
  const unsigned cls = reply_code / 100;
  MAIL_ASSERT(cls != 3);
  std::string out(1, static_cast<char>('0' + cls));
  out.append(".0.0");
  MAIL_ASSERT(is_valid_status(out));
  return out;
}

std::string utf8_addr_xtext(std::string_view addr) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(addr.size());
  std::size_t i = 0;
  while (i < addr.size()) {
    const char32_t cp = next_code_point(addr, i);
    // QCHAR = %x21-2a / %x2c-3c / %x3e-5b / %x5d-7e (RFC 6533 §3): printable ASCII minus
    // "+", "=" and "\".
    if (cp >= 0x21 && cp <= 0x7E && cp != '+' && cp != '=' && cp != '\\') {
      out.push_back(static_cast<char>(cp));
      continue;
    }
    // EmbeddedUnicodeChar = "\x{" HEXPOINT "}": upper-case, two digits at least, no
    // further leading zeros.
    std::string hex;
    for (char32_t v = cp; v != 0; v >>= 4) hex.insert(hex.begin(), kHex[v & 0xF]);
    while (hex.size() < 2) hex.insert(hex.begin(), '0');
    out.append("\\x{").append(hex).append("}");
  }
  MAIL_ASSERT(printable_ascii(out));
  return out;
}

std::string render_dsn(const DsnInput& in) {
  MAIL_ASSERT(!in.recipients.empty());
  MAIL_ASSERT(!in.to.empty());  // RFC 5321 §6.1: never a DSN to the null reverse-path
  MAIL_ASSERT(in.to != "<>");
  MAIL_ASSERT(clean_word(in.reporting_mta));
  MAIL_ASSERT(in.reporting_mta.size() <= kHostBytesMax);
  MAIL_ASSERT(clean_word(in.message_id));
  MAIL_ASSERT(in.message_id.find('@') != std::string::npos);
  MAIL_ASSERT(valid_boundary(in.boundary));
  for (const auto& r : in.recipients) MAIL_ASSERT(is_valid_status(r.status));

  const Worst worst = worst_of(in.recipients);
  // RFC 3461 §6.2: the full message for failures when RET=FULL; headers only otherwise, and
  // for a message over the budget or one that could not travel as it is (a line over 998).
  const bool wants_full = in.return_full && worst == Worst::failed;
  const bool fits = in.original.size() <= in.max_return_bytes && !has_long_line(in.original);
  const bool full = wants_full && fits;
  const bool cut_to_headers = wants_full && !fits;

  const std::string parts[3] = {human_part(in, worst, cut_to_headers), status_part(in),
                                returned_part(in.original, full)};

  // A delimiter line must not occur in any part (RFC 2046 §5.1.1); our parts are built from
  // sanitised text, but the returned message is the peer's, so check and lengthen.
  std::string boundary = in.boundary;
  auto occurs = [&](const std::string& b) {
    return std::any_of(std::begin(parts), std::end(parts), [&](const std::string& p) { return p.find(b) != std::string::npos; });
  };
  for (std::uint64_t n = 1; occurs(boundary); ++n) {
    boundary = in.boundary;
    boundary.append("=_").append(std::to_string(n));
    MAIL_ASSERT(boundary.size() <= kBoundaryLimit);
  }

  const bool eight_bit = has_8bit(parts[2]);
  std::string out;
  out.reserve(parts[0].size() + parts[1].size() + parts[2].size() + 1024);
  out.append("From: Mail Delivery System <MAILER-DAEMON@").append(in.reporting_mta).append(">\r\n");
  // Headers stay 7-bit (RFC 5322 §2.2): an internationalised sender cannot be written here
  // without RFC 6532, which this renderer does not produce; the SMTP envelope addresses it.
  if (printable_ascii(in.to) && in.to.size() <= kHeaderAddressBytesMax) {
    out.append("To: <").append(in.to).append(">\r\n");
  } else {
    out.append("To: undisclosed-recipients:;\r\n");
  }
  out.append("Subject: ").append(subject_for(worst)).append("\r\n");
  out.append("Date: ").append(smtp::format_date_time(in.now)).append("\r\n");
  out.append("Message-ID: <").append(in.message_id).append(">\r\n");
  out.append("Auto-Submitted: auto-replied\r\n");  // RFC 3834 §5
  out.append("MIME-Version: 1.0\r\n");
  out.append("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"")
      .append(boundary)
      .append("\"\r\n");
  // RFC 2045 §6.4: a multipart entity is labelled with the widest encoding of its parts.
  out.append(eight_bit ? "Content-Transfer-Encoding: 8bit\r\n" : "Content-Transfer-Encoding: 7bit\r\n");
  out.append("\r\nThis is a MIME-encapsulated message.\r\n");
  for (const auto& p : parts) {
    // The CRLF before "--" belongs to the delimiter (RFC 2046 §5.1.1), so each part keeps
    // its own final CRLF.
    out.append("\r\n--").append(boundary).append("\r\n").append(p);
  }
  out.append("\r\n--").append(boundary).append("--\r\n");
  MAIL_ASSERT(!has_long_line(out));
  return out;
}

}  // namespace mail::message
