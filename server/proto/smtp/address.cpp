// RFC 5321 §4.1.2 path grammar and §4.1.3 address literals, with RFC 6531 §3.3 UTF-8
// (atext, qtextSMTP, U-label sub-domains) and the §4.5.3.1.1-3 size limits. Source routes
// (§4.1.1.3, Appendix C) are accepted and dropped. Pure functions over string_views: no
// I/O, no exceptions, no allocation beyond the returned strings. Peer input errors are
// PathError values; MAIL_ASSERT guards only our own invariants.
#include "proto/smtp/address.h"

#include "core/assert.h"
#include "proto/smtp/chars.h"

namespace mail::smtp {

namespace {

// RFC 5321 §4.5.3.1.2 domain limit for the stand-alone validators, which take no limits.
constexpr std::size_t kDomainBytesMax = 255;
// RFC 1035 §2.3.4 label limit; RFC 5321 §2.3.5 makes SMTP domains DNS names.
constexpr std::size_t kLabelBytesMax = 63;

// RFC 5321 §4.1.3 dcontent = %d33-90 / %d94-126.
constexpr bool is_dcontent(unsigned char c) noexcept { return (c >= 33 && c <= 90) || (c >= 94 && c <= 126); }

// Length of the well-formed UTF-8 sequence (RFC 3629 §4, the UTF8-non-ascii of RFC 6532
// §3.1) that starts at s[i] with a non-ASCII lead octet, or 0 when it is malformed: stray
// continuation octets, overlong forms (C0, C1, E0 80-9F, F0 80-8F), UTF-16 surrogates
// (ED A0-BF) and code points above U+10FFFF (F4 90+, F5-FF) are all rejected.
std::size_t utf8_len(std::string_view s, std::size_t i) noexcept {
  auto at = [&](std::size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0x100u;
  };
  auto in = [](unsigned c, unsigned lo, unsigned hi) { return c >= lo && c <= hi; };
  const unsigned c0 = at(0);
  if (in(c0, 0xC2, 0xDF)) return in(at(1), 0x80, 0xBF) ? 2 : 0;
  if (c0 == 0xE0) return in(at(1), 0xA0, 0xBF) && in(at(2), 0x80, 0xBF) ? 3 : 0;
  if (in(c0, 0xE1, 0xEC) || c0 == 0xEE || c0 == 0xEF)
    return in(at(1), 0x80, 0xBF) && in(at(2), 0x80, 0xBF) ? 3 : 0;
  if (c0 == 0xED) return in(at(1), 0x80, 0x9F) && in(at(2), 0x80, 0xBF) ? 3 : 0;
  if (c0 == 0xF0) return in(at(1), 0x90, 0xBF) && in(at(2), 0x80, 0xBF) && in(at(3), 0x80, 0xBF) ? 4 : 0;
  if (in(c0, 0xF1, 0xF3)) return in(at(1), 0x80, 0xBF) && in(at(2), 0x80, 0xBF) && in(at(3), 0x80, 0xBF) ? 4 : 0;
  if (c0 == 0xF4) return in(at(1), 0x80, 0x8F) && in(at(2), 0x80, 0xBF) && in(at(3), 0x80, 0xBF) ? 4 : 0;
  return 0;
}

// Parser state over one input. `utf8_seen` records a well-formed non-ASCII sequence where
// RFC 6531 would allow one; whether that is an error is decided last (see parse_path).
struct Scanner {
  std::string_view in;
  std::size_t pos = 0;
  bool utf8_seen = false;

  bool eof() const noexcept { return pos >= in.size(); }
  unsigned char peek() const noexcept { return eof() ? 0 : static_cast<unsigned char>(in[pos]); }
  bool take(char c) noexcept {
    if (eof() || in[pos] != c) return false;
    ++pos;
    return true;
  }
  // Consumes one UTF8-non-ascii character if one starts here.
  bool take_utf8() noexcept {
    if (eof() || peek() < 0x80) return false;
    const std::size_t n = utf8_len(in, pos);
    if (n == 0) return false;
    pos += n;
    utf8_seen = true;
    return true;
  }
};

// RFC 5321 §4.1.2 Dot-string = Atom *("." Atom), Atom = 1*atext, atext extended by RFC 6531
// §3.3 with UTF8-non-ascii.
bool scan_dot_string(Scanner& s) noexcept {
  for (;;) {
    const std::size_t atom_start = s.pos;
    while (!s.eof()) {
      if (is_atext(s.peek())) {
        ++s.pos;
      } else if (!s.take_utf8()) {
        break;
      }
    }
    if (s.pos == atom_start) return false;  // empty atom: leading, trailing or doubled dot
    if (!s.take('.')) return true;
  }
}

// RFC 5321 §4.1.2 Quoted-string = DQUOTE *QcontentSMTP DQUOTE; QcontentSMTP = qtextSMTP /
// quoted-pairSMTP ("\" %d32-126); qtextSMTP extended by RFC 6531 §3.3 with UTF8-non-ascii.
// quoted-pairSMTP stays ASCII: RFC 6531 does not extend it.
bool scan_quoted_string(Scanner& s) noexcept {
  if (!s.take('"')) return false;
  while (!s.eof()) {
    const unsigned char c = s.peek();
    if (c == '"') {
      ++s.pos;
      return true;
    }
    if (c == '\\') {
      ++s.pos;
      if (s.eof()) return false;
      const unsigned char q = s.peek();
      if (q < 32 || q > 126) return false;
      ++s.pos;
    } else if (is_qtext(c)) {
      ++s.pos;
    } else if (!s.take_utf8()) {
      return false;  // control character, bare 8-bit octet or malformed UTF-8
    }
  }
  return false;  // unterminated
}

// RFC 5321 §4.1.2 Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str],
// or (RFC 6531 §3.3) a U-label. A U-label here is a label of LDH and UTF8-non-ascii that
// neither starts nor ends with "-" (RFC 5890 §2.3.2.1); IDNA2008 code point tables are not
// applied. ASCII labels are capped at 63 octets (RFC 1035 §2.3.4); a U-label's limit
// applies to its A-label, which we do not compute.
bool scan_domain(Scanner& s) noexcept {
  for (;;) {
    const std::size_t label_start = s.pos;
    bool non_ascii = false;
    unsigned char last = 0;
    while (!s.eof()) {
      const unsigned char c = s.peek();
      if (is_let_dig(c) || c == '-') {
        ++s.pos;
        last = c;
      } else if (s.take_utf8()) {
        non_ascii = true;
        last = 0x80;
      } else {
        break;
      }
    }
    const std::size_t len = s.pos - label_start;
    if (len == 0) return false;
    if (s.in[label_start] == '-' || last == '-') return false;
    if (!non_ascii && len > kLabelBytesMax) return false;
    if (!s.take('.')) return true;
  }
}

// RFC 5321 §4.1.3 Snum = 1*3DIGIT with value 0..255; IPv4-address-literal = Snum 3("." Snum).
bool valid_ipv4(std::string_view v) noexcept {
  int parts = 0;
  std::size_t i = 0;
  for (;;) {
    std::size_t digits = 0;
    unsigned value = 0;
    while (i < v.size() && is_digit(static_cast<unsigned char>(v[i])) && digits < 4) {
      value = value * 10 + static_cast<unsigned>(v[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0 || digits > 3 || value > 255) return false;
    ++parts;
    if (parts == 4) return i == v.size();
    if (i >= v.size() || v[i] != '.') return false;
    ++i;
  }
}

// A run of ":"-separated groups with no empty group. Counts IPv6-hex groups into `hex`;
// when `allow_v4` the last group may instead be an IPv4-address-literal (`v4` set).
bool ipv6_groups(std::string_view v, bool allow_v4, int& hex, bool& v4) noexcept {
  hex = 0;
  v4 = false;
  if (v.empty()) return true;
  std::size_t start = 0;
  for (;;) {
    const std::size_t colon = v.find(':', start);
    const std::string_view g = v.substr(start, colon == std::string_view::npos ? v.npos : colon - start);
    const bool last = colon == std::string_view::npos;
    if (last && allow_v4 && g.find('.') != std::string_view::npos) {
      if (!valid_ipv4(g)) return false;
      v4 = true;
      return true;
    }
    // IPv6-hex = 1*4HEXDIG
    if (g.empty() || g.size() > 4) return false;
    for (char c : g)
      if (!is_hex(static_cast<unsigned char>(c))) return false;
    ++hex;
    if (hex > 8) return false;
    if (last) return true;
    start = colon + 1;
  }
}

// RFC 5321 §4.1.3 IPv6-addr = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp.
bool valid_ipv6(std::string_view v) noexcept {
  const std::size_t dc = v.find("::");
  int hex = 0;
  bool v4 = false;
  if (dc == std::string_view::npos) {
    if (!ipv6_groups(v, true, hex, v4)) return false;
    // IPv6-full: 8 groups; IPv6v4-full: 6 groups and the IPv4 tail.
    return v4 ? hex == 6 : hex == 8;
  }
  if (v.find("::", dc + 1) != std::string_view::npos) return false;  // one "::" at most, no ":::"
  int left = 0, right = 0;
  bool left_v4 = false;
  if (!ipv6_groups(v.substr(0, dc), false, left, left_v4)) return false;
  if (!ipv6_groups(v.substr(dc + 2), true, right, v4)) return false;
  // "::" stands for at least two groups: at most 6 others (IPv6-comp), or 4 others
  // beside the IPv4 tail (IPv6v4-comp).
  return left + right <= (v4 ? 4 : 6);
}

// Literal body between the brackets.
bool valid_literal_body(std::string_view body) noexcept {
  if (body.empty()) return false;
  const std::size_t colon = body.find(':');
  if (colon == std::string_view::npos) return valid_ipv4(body);
  const std::string_view tag = body.substr(0, colon);
  const std::string_view rest = body.substr(colon + 1);
  // "IPv6:" is an ABNF string, so case-insensitive (RFC 5234 §2.3). The tag is registered
  // and its content is defined, so no fallback to the general form when it is malformed.
  if (iequals(tag, "IPv6")) return valid_ipv6(rest);
  // General-address-literal = Standardized-tag ":" 1*dcontent; Standardized-tag = Ldh-str
  // = *( ALPHA / DIGIT / "-" ) Let-dig.
  if (tag.empty() || !is_let_dig(static_cast<unsigned char>(tag.back()))) return false;
  for (char c : tag)
    if (!is_let_dig(static_cast<unsigned char>(c)) && c != '-') return false;
  if (rest.empty()) return false;
  for (char c : rest)
    if (!is_dcontent(static_cast<unsigned char>(c))) return false;
  return true;
}

// address-literal = "[" ( IPv4 / IPv6 / General ) "]", scanned from the "[".
bool scan_address_literal(Scanner& s) noexcept {
  const std::size_t start = s.pos;
  if (!s.take('[')) return false;
  while (!s.eof() && is_dcontent(s.peek())) ++s.pos;
  if (!s.take(']')) return false;
  return valid_literal_body(s.in.substr(start + 1, s.pos - start - 2));
}

bool is_dot_string(std::string_view v) noexcept {
  Scanner s{v};
  return scan_dot_string(s) && s.eof();
}

// Content of a quoted-string with quoted-pairs resolved ("\"a\\\"b\"" -> a"b).
std::string unquote(std::string_view q) {
  MAIL_ASSERT(q.size() >= 2);
  MAIL_ASSERT(q.front() == '"');
  std::string out;
  out.reserve(q.size());
  for (std::size_t i = 1; i + 1 < q.size(); ++i) {
    if (q[i] == '\\' && i + 2 < q.size()) ++i;
    out.push_back(q[i]);
  }
  return out;
}

}  // namespace

std::string_view to_string(PathError e) noexcept {
  switch (e) {
    case PathError::syntax: return "syntax";
    case PathError::local_part_too_long: return "local_part_too_long";
    case PathError::domain_too_long: return "domain_too_long";
    case PathError::path_too_long: return "path_too_long";
    case PathError::utf8_not_allowed: return "utf8_not_allowed";
    case PathError::null_not_allowed: return "null_not_allowed";
  }
  return "unknown";
}

Reply path_error_reply(PathError e, bool reverse_path) {
  // RFC 3463 §3.2: X.1.7 is the sender's address syntax, X.1.3 the recipient's. Sizes
  // get 501 as in RFC 5321 §4.5.3.1.9 ("501 Path too long").
  const std::uint16_t subject = 1;
  const std::uint16_t detail = reverse_path ? 7 : 3;
  switch (e) {
    case PathError::syntax:
      return Reply::make(501, {5, subject, detail},
                         reverse_path ? "Bad sender address syntax" : "Bad recipient address syntax");
    case PathError::local_part_too_long:
      return Reply::make(501, {5, subject, detail}, "Local part too long");
    case PathError::domain_too_long:
      return Reply::make(501, {5, subject, detail}, "Domain too long");
    case PathError::path_too_long:
      return Reply::make(501, {5, subject, detail}, "Path too long");
    case PathError::utf8_not_allowed:
      // RFC 6531 §3.4 / §3.5: non-ASCII address without the SMTPUTF8 parameter.
      return Reply::make(553, {5, 6, 7}, "Non-ASCII address requires SMTPUTF8");
    case PathError::null_not_allowed:
      return Reply::make(501, {5, 1, 3}, "Null path not allowed here");
  }
  MAIL_UNREACHABLE();
}

bool is_valid_utf8(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = utf8_len(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string Mailbox::to_string() const {
  std::string out;
  out.reserve(local_part.size() + 1 + domain.size());
  out.append(local_part);
  out.push_back('@');
  out.append(domain);
  return out;
}

bool Mailbox::needs_smtputf8() const noexcept {
  for (char c : local_part)
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  for (char c : domain)
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  return false;
}

std::string Path::to_string() const {
  if (!mailbox) return "<>";
  // Appended in place, not `"<" + s + ">"`: prepending to a string is what GCC 12 at -O2
  // mistakes for an overlapping memcpy (-Wrestrict, GCC bug 105329), and this is one
  // allocation instead of two.
  std::string out;
  out.reserve(mailbox->local_part.size() + mailbox->domain.size() + 3);
  out.push_back('<');
  out.append(mailbox->local_part);
  out.push_back('@');
  out.append(mailbox->domain);
  out.push_back('>');
  return out;
}

namespace {

// §4.1.2 Mailbox = Local-part "@" ( Domain / address-literal ), scanned at s.pos. Fills the
// two spans; false on a syntax error.
struct MailboxSpans {
  std::size_t local_start = 0, local_end = 0, domain_start = 0, domain_end = 0;
};

bool scan_mailbox(Scanner& s, MailboxSpans& m) noexcept {
  m.local_start = s.pos;
  const bool local_ok = s.peek() == '"' ? scan_quoted_string(s) : scan_dot_string(s);
  if (!local_ok) return false;
  m.local_end = s.pos;
  if (!s.take('@')) return false;
  m.domain_start = s.pos;
  const bool domain_ok = s.peek() == '[' ? scan_address_literal(s) : scan_domain(s);
  if (!domain_ok) return false;
  m.domain_end = s.pos;
  return true;
}

// Sizes are checked after the syntax so that a malformed path always reads as malformed;
// the scan is linear, so the late check costs nothing extra. `path_bytes` is the path as
// on the wire, brackets and any source route included.
std::optional<PathError> check_mailbox(const MailboxSpans& m, std::size_t path_bytes, bool utf8_seen,
                                       const SmtpLimits& limits, bool allow_utf8) noexcept {
  // §4.5.3.1.1: local part as on the wire (quotes and backslashes count, conservatively).
  if (m.local_end - m.local_start > limits.local_part_bytes_max) return PathError::local_part_too_long;
  // §4.5.3.1.2: domain, or address literal with its brackets.
  if (m.domain_end - m.domain_start > limits.domain_bytes_max) return PathError::domain_too_long;
  // §4.5.3.1.3: the whole path "including the punctuation and element separators".
  if (path_bytes > limits.path_bytes_max) return PathError::path_too_long;
  // RFC 6531 §3.3 non-ASCII is fine only under SMTPUTF8 (§3.4: 553 5.6.7 otherwise).
  if (utf8_seen && !allow_utf8) return PathError::utf8_not_allowed;
  return std::nullopt;
}

Mailbox make_mailbox(std::string_view in, const MailboxSpans& m) {
  Mailbox out;
  out.local_part.assign(in.substr(m.local_start, m.local_end - m.local_start));
  out.domain.assign(in.substr(m.domain_start, m.domain_end - m.domain_start));
  return out;
}

}  // namespace

PathParse parse_path(std::string_view in, const SmtpLimits& limits, bool allow_utf8, bool allow_null) {
  // A failure is a fresh result: copying `r` here would copy its (empty) optional Path,
  // whose engaged flag GCC cannot follow (-Wmaybe-uninitialized at -O2).
  auto fail = [](PathError e) {
    PathParse f;
    f.error = e;
    MAIL_ASSERT(!f.path.has_value());
    return f;
  };
  PathParse r;
  Scanner s{in};
  if (!s.take('<')) return fail(PathError::syntax);

  // RFC 5321 §4.1.2 Reverse-path = Path / "<>": the null path, for MAIL only.
  if (s.take('>')) {
    if (!allow_null) return fail(PathError::null_not_allowed);
    r.path = Path{};
    r.consumed = 2;
    return r;
  }

  // §4.1.2 A-d-l = At-domain *( "," At-domain ) ":" — the source route, which "MUST BE
  // accepted, SHOULD NOT be generated, and SHOULD be ignored" (§4.1.1.3, Appendix C).
  if (s.peek() == '@') {
    do {
      if (!s.take('@')) return fail(PathError::syntax);
      if (!scan_domain(s)) return fail(PathError::syntax);
    } while (s.take(','));
    if (!s.take(':')) return fail(PathError::syntax);
  }

  MailboxSpans m;
  if (!scan_mailbox(s, m)) return fail(PathError::syntax);
  if (!s.take('>')) return fail(PathError::syntax);
  if (auto e = check_mailbox(m, s.pos, s.utf8_seen, limits, allow_utf8)) return fail(*e);

  r.path = Path{make_mailbox(in, m)};
  r.consumed = s.pos;
  MAIL_ASSERT(r.consumed <= in.size());
  MAIL_ASSERT(in[r.consumed - 1] == '>');
  return r;
}

std::optional<Mailbox> parse_mailbox(std::string_view in, const SmtpLimits& limits, bool allow_utf8) {
  // A bare mailbox is a path without brackets or source route; the path limit applies
  // with the two brackets it would have on the wire.
  Scanner s{in};
  MailboxSpans m;
  if (!scan_mailbox(s, m) || !s.eof()) return std::nullopt;
  if (check_mailbox(m, in.size() + 2, s.utf8_seen, limits, allow_utf8)) return std::nullopt;
  Mailbox out = make_mailbox(in, m);
  MAIL_ASSERT(out.local_part.size() + 1 + out.domain.size() == in.size());
  return out;
}

bool is_valid_domain(std::string_view d, bool allow_utf8) noexcept {
  if (d.empty() || d.size() > kDomainBytesMax) return false;
  Scanner s{d};
  if (!scan_domain(s) || !s.eof()) return false;
  return allow_utf8 || !s.utf8_seen;
}

bool is_valid_address_literal(std::string_view lit) noexcept {
  if (lit.size() < 3 || lit.size() > kDomainBytesMax) return false;
  Scanner s{lit};
  return scan_address_literal(s) && s.eof();
}

Mailbox canonical(const Mailbox& m) {
  MAIL_ASSERT(!m.local_part.empty());
  MAIL_ASSERT(!m.domain.empty());
  Mailbox out;
  out.domain.reserve(m.domain.size());
  // Domains are case-insensitive (RFC 5321 §2.4); only ASCII folds, U-labels stay as sent.
  for (char c : m.domain) out.domain.push_back(ascii_lower(c));
  if (m.local_part.front() != '"') {
    out.local_part = m.local_part;  // local parts MAY be case-sensitive (§2.4): kept
    return out;
  }
  // §4.1.2: "all quoted forms MUST be treated as equivalent" and the minimum quoting is
  // preferred. Unquote; keep the bare form when it is a Dot-string, else re-quote with
  // backslashes only where qtextSMTP needs them (before '"' and '\').
  const std::string content = unquote(m.local_part);
  if (!content.empty() && is_dot_string(content)) {
    out.local_part = content;
  } else {
    out.local_part.reserve(content.size() + 2);
    out.local_part.push_back('"');
    for (char c : content) {
      if (c == '"' || c == '\\') out.local_part.push_back('\\');
      out.local_part.push_back(c);
    }
    out.local_part.push_back('"');
  }
  MAIL_ASSERT(out.local_part.size() <= m.local_part.size());
  return out;
}

}  // namespace mail::smtp
