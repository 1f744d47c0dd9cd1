// ESMTP MAIL/RCPT parameters (RFC 5321 §4.1.2 esmtp-param) and their values: SIZE (RFC 1870
// §6), BODY (RFC 6152 §2, RFC 3030 §3), SMTPUTF8 (RFC 6531 §3.4), RET/ENVID/NOTIFY/ORCPT
// (RFC 3461 §4.1-4.5, xtext §4), AUTH (RFC 4954 §5). Pure: no I/O, no exceptions; every
// peer error is a ParamError value. Decoded values never contain CR, LF or NUL, so they
// cannot inject lines into queue files, logs or DSNs (SECURITY.md §5 item 10).
#include "proto/smtp/params.h"

#include <array>

#include "core/assert.h"
#include "proto/smtp/address.h"
#include "proto/smtp/chars.h"

namespace mail::smtp {

namespace {

constexpr std::size_t kParamsMax = 16;          // params.h contract (Postfix-like budget)
constexpr std::size_t kValueBytesMax = 1024;    // params.h contract, SECURITY.md §5 item 11
constexpr std::size_t kEnvidBytesMax = 100;     // RFC 3461 §4.4 / §5.4(a)
constexpr std::size_t kOrcptBytesMax = 500;     // RFC 3461 §4.2 / §5.4(c)
constexpr std::size_t kSizeDigitsMax = 20;      // RFC 1870 §3: size-value ::= 1*20DIGIT
constexpr std::size_t kKeywordEchoMax = 32;     // how much of an unknown keyword a reply repeats

static_assert(kEnvidBytesMax <= kValueBytesMax);
static_assert(kOrcptBytesMax <= kValueBytesMax);

ParamError make_error(std::uint16_t code, std::uint8_t subject, std::uint8_t detail, std::string text) {
  MAIL_ASSERT(code >= 500);
  MAIL_ASSERT(!text.empty());
  ParamError e;
  e.code = code;
  e.enh_subject = subject;
  e.enh_detail = detail;
  e.text = std::move(text);
  return e;
}

// 501 5.5.4: RFC 5321 §4.2.2 "Syntax error in parameters or arguments"; RFC 3463 X.5.4
// "Invalid command arguments". RFC 3461 §4.5 asks for 501 on repeated DSN parameters too.
ParamError syntax_error(std::string text) { return make_error(501, 5, 4, std::move(text)); }

// Safe to echo: the keyword was checked to be ALPHA / DIGIT / "-" only.
std::string echo_keyword(std::string_view kw) {
  std::string out;
  for (std::size_t i = 0; i < kw.size() && i < kKeywordEchoMax; ++i) out.push_back(ascii_upper(kw[i]));
  return out;
}

// 555 5.5.4: RFC 5321 §4.1.1.11 "MAIL FROM/RCPT TO parameters not recognized or not
// implemented".
ParamError unsupported(std::string_view kw) {
  return make_error(555, 5, 4, "Unsupported parameter " + echo_keyword(kw));
}

struct RawParam {
  std::string_view keyword;
  std::string_view value;
  bool has_value = false;
};

// RFC 5321 §4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-").
bool valid_keyword(std::string_view kw) noexcept {
  if (kw.empty()) return false;
  if (!is_alpha(static_cast<unsigned char>(kw[0])) && !is_digit(static_cast<unsigned char>(kw[0]))) return false;
  for (char c : kw) {
    const auto u = static_cast<unsigned char>(c);
    if (!is_alpha(u) && !is_digit(u) && c != '-') return false;
  }
  return true;
}

// RFC 5321 §4.1.2: esmtp-value = 1*(%d33-60 / %d62-126), extended by RFC 6531 §3.3 with
// UTF8-non-ascii (well-formed UTF-8 only). So no SP, no "=", no control characters.
bool valid_value(std::string_view v) noexcept {
  if (v.empty()) return false;
  bool non_ascii = false;
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      non_ascii = true;
    } else if (u < 33 || u > 126 || u == '=') {
      return false;
    }
  }
  return !non_ascii || is_valid_utf8(v);
}

// Splits "SP esmtp-param *(SP esmtp-param)" into keyword/value pairs, enforcing the count
// and size budgets before looking at each token. Extra SPs are tolerated.
std::optional<ParamError> tokenize(std::string_view in, std::array<RawParam, kParamsMax>& out, std::size_t& n) {
  n = 0;
  std::size_t i = 0;
  while (i < in.size()) {
    if (in[i] == ' ') {
      ++i;
      continue;
    }
    std::size_t end = in.find(' ', i);
    if (end == std::string_view::npos) end = in.size();
    const std::string_view token = in.substr(i, end - i);
    i = end;
    if (n == kParamsMax) return syntax_error("Too many parameters");
    RawParam p;
    const std::size_t eq = token.find('=');
    p.keyword = token.substr(0, eq);
    if (!valid_keyword(p.keyword)) return syntax_error("Syntax error in parameters");
    if (eq != std::string_view::npos) {
      p.has_value = true;
      p.value = token.substr(eq + 1);
      if (p.value.size() > kValueBytesMax) return syntax_error("Parameter value too long");
      if (!valid_value(p.value)) return syntax_error("Syntax error in " + echo_keyword(p.keyword) + " value");
    }
    out[n++] = p;
  }
  MAIL_ASSERT(n <= kParamsMax);
  return std::nullopt;
}

// Duplicate detection, one bit per known keyword.
enum Seen : unsigned {
  kSize = 1u << 0, kBody = 1u << 1, kUtf8 = 1u << 2, kRet = 1u << 3, kEnvid = 1u << 4,
  kAuth = 1u << 5, kNotify = 1u << 6, kOrcpt = 1u << 7,
};

std::optional<ParamError> first_use(unsigned& seen, Seen bit, std::string_view kw) {
  if (seen & bit) return syntax_error("Duplicate " + echo_keyword(kw) + " parameter");
  seen |= bit;
  return std::nullopt;
}

std::optional<ParamError> need_value(const RawParam& p) {
  if (!p.has_value) return syntax_error(echo_keyword(p.keyword) + " requires a value");
  return std::nullopt;
}

// RFC 1870 §3 size-value ::= 1*20DIGIT; 20 digits can exceed 2^64-1, so every step is
// checked for overflow instead of trusting the digit count.
std::optional<std::uint64_t> parse_size(std::string_view v) noexcept {
  if (v.empty() || v.size() > kSizeDigitsMax) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : v) {
    if (!is_digit(static_cast<unsigned char>(c))) return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) return std::nullopt;
    n = n * 10 + d;
  }
  return n;
}

// RFC 3461 §4.4: the ENVID "prior to encoding as xtext MUST consist entirely of printable
// (graphic and white space) characters from the US-ASCII repertoire".
bool printable_ascii(std::string_view v) noexcept {
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7E) return false;
  }
  return true;
}

// ORCPT and AUTH values: no control characters at all; non-ASCII only as well-formed UTF-8
// (an SMTPUTF8 peer may send it, RFC 6533 §3).
bool no_controls(std::string_view v) noexcept {
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return false;
  }
  return is_valid_utf8(v);
}

}  // namespace

std::optional<std::string> xtext_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c == '+') {
      // hexchar = "+" and two upper-case hexadecimal digits (RFC 3461 §4).
      if (i + 2 >= in.size()) return std::nullopt;
      const auto h = static_cast<unsigned char>(in[i + 1]);
      const auto l = static_cast<unsigned char>(in[i + 2]);
      if (!is_upper_hex(h) || !is_upper_hex(l)) return std::nullopt;
      auto val = [](unsigned char x) { return is_digit(x) ? x - '0' : x - 'A' + 10; };
      const auto byte = static_cast<unsigned char>(val(h) * 16 + val(l));
      // The injection guard: a decoded CR, LF or NUL would split a queue-file, log or DSN
      // line (SECURITY.md §5 item 10), and no legitimate ENVID/ORCPT/AUTH contains one.
      if (byte == '\r' || byte == '\n' || byte == '\0') return std::nullopt;
      out.push_back(static_cast<char>(byte));
      i += 2;
    } else if (c >= 33 && c <= 126 && c != '=') {
      out.push_back(static_cast<char>(c));  // xchar
    } else {
      return std::nullopt;
    }
  }
  return out;
}

std::string xtext_encode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 33 && c <= 126 && c != '+' && c != '=') {
      out.push_back(ch);
    } else {
      out.push_back('+');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

namespace {

// One MAIL parameter into `p`; `seen` tracks duplicates. The first error stops the parse.
std::optional<ParamError> apply_mail_param(const RawParam& rp, const Extensions& ext, MailParams& p, unsigned& seen) {
  const std::string_view kw = rp.keyword;
  if (iequals(kw, "SIZE")) {
    // RFC 1870 §6.1.
    if (!ext.size) return unsupported(kw);
    if (auto e = first_use(seen, kSize, kw)) return e;
    if (auto e = need_value(rp)) return e;
    const auto size = parse_size(rp.value);
    if (!size) return syntax_error("Bad SIZE value");
    p.size = *size;
  } else if (iequals(kw, "BODY")) {
    // RFC 6152 §2 (7BIT, 8BITMIME) and RFC 3030 §3 (BINARYMIME): BODY is known only when
    // one of them is advertised, and each value only when its extension is.
    if (!ext.eight_bit_mime && !ext.binary_mime) return unsupported(kw);
    if (auto e = first_use(seen, kBody, kw)) return e;
    if (auto e = need_value(rp)) return e;
    if (iequals(rp.value, "7BIT")) {
      p.body = BodyType::seven_bit;
    } else if (iequals(rp.value, "8BITMIME")) {
      if (!ext.eight_bit_mime) return make_error(555, 5, 4, "BODY=8BITMIME not supported");
      p.body = BodyType::eight_bit_mime;
    } else if (iequals(rp.value, "BINARYMIME")) {
      if (!ext.binary_mime) return make_error(555, 5, 4, "BODY=BINARYMIME not supported");
      p.body = BodyType::binary_mime;
    } else {
      return syntax_error("Bad BODY value");
    }
  } else if (iequals(kw, "SMTPUTF8")) {
    // RFC 6531 §3.4: "If this parameter is provided, it MUST not accept a value."
    if (!ext.smtputf8) return unsupported(kw);
    if (auto e = first_use(seen, kUtf8, kw)) return e;
    if (rp.has_value) return syntax_error("SMTPUTF8 takes no value");
    p.smtputf8 = true;
  } else if (iequals(kw, "RET")) {
    // RFC 3461 §4.3: FULL or HDRS, any case; §4.5: at most once.
    if (!ext.dsn) return unsupported(kw);
    if (auto e = first_use(seen, kRet, kw)) return e;
    if (auto e = need_value(rp)) return e;
    if (iequals(rp.value, "FULL")) {
      p.ret = DsnRet::full;
    } else if (iequals(rp.value, "HDRS")) {
      p.ret = DsnRet::headers;
    } else {
      return syntax_error("Bad RET value");
    }
  } else if (iequals(kw, "ENVID")) {
    // RFC 3461 §4.4: xtext, up to 100 characters, printable US-ASCII once decoded.
    if (!ext.dsn) return unsupported(kw);
    if (auto e = first_use(seen, kEnvid, kw)) return e;
    if (auto e = need_value(rp)) return e;
    if (rp.value.size() > kEnvidBytesMax) return syntax_error("ENVID too long");
    auto decoded = xtext_decode(rp.value);
    if (!decoded || !printable_ascii(*decoded)) return syntax_error("Bad ENVID value");
    p.envid = std::move(*decoded);
  } else if (iequals(kw, "AUTH")) {
    // RFC 4954 §5: AUTH=xtext(mailbox) or AUTH=<> (unknown submitter).
    if (!ext.auth) return unsupported(kw);
    if (auto e = first_use(seen, kAuth, kw)) return e;
    if (auto e = need_value(rp)) return e;
    auto decoded = xtext_decode(rp.value);
    if (!decoded || !no_controls(*decoded)) return syntax_error("Bad AUTH value");
    if (*decoded != "<>" && !parse_mailbox(*decoded, SmtpLimits{}, true))
      return syntax_error("Bad AUTH value");
    p.auth = std::move(*decoded);
  } else {
    return unsupported(kw);
  }
  return std::nullopt;
}

// One RCPT parameter into `p`, as apply_mail_param.
std::optional<ParamError> apply_rcpt_param(const RawParam& rp, const Extensions& ext, RcptParams& p, unsigned& seen) {
  const std::string_view kw = rp.keyword;
  if (iequals(kw, "NOTIFY")) {
    // RFC 3461 §4.1: "NEVER" / 1#("SUCCESS" / "FAILURE" / "DELAY"), any case; NEVER
    // "MUST appear by itself"; §4.5: at most once.
    if (!ext.dsn) return unsupported(kw);
    if (auto e = first_use(seen, kNotify, kw)) return e;
    if (auto e = need_value(rp)) return e;
    DsnNotify notify;
    std::size_t elements = 0;
    std::size_t start = 0;
    for (;;) {
      const std::size_t comma = rp.value.find(',', start);
      const std::string_view el =
          rp.value.substr(start, comma == std::string_view::npos ? rp.value.npos : comma - start);
      ++elements;
      if (iequals(el, "NEVER")) {
        notify.never = true;
      } else if (iequals(el, "SUCCESS")) {
        notify.success = true;
      } else if (iequals(el, "FAILURE")) {
        notify.failure = true;
      } else if (iequals(el, "DELAY")) {
        notify.delay = true;
      } else {
        return syntax_error("Bad NOTIFY value");  // includes empty elements
      }
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    if (notify.never && elements > 1) return syntax_error("NOTIFY=NEVER must appear alone");
    MAIL_ASSERT(notify.any());
    p.notify = notify;
  } else if (iequals(kw, "ORCPT")) {
    // RFC 3461 §4.2: addr-type ";" xtext, addr-type an atom, up to 500 characters.
    if (!ext.dsn) return unsupported(kw);
    if (auto e = first_use(seen, kOrcpt, kw)) return e;
    if (auto e = need_value(rp)) return e;
    if (rp.value.size() > kOrcptBytesMax) return syntax_error("ORCPT too long");
    const std::size_t semi = rp.value.find(';');
    if (semi == std::string_view::npos || semi == 0) return syntax_error("Bad ORCPT value");
    const std::string_view type = rp.value.substr(0, semi);
    for (char c : type)
      if (!is_atext(c)) return syntax_error("Bad ORCPT address type");
    auto decoded = xtext_decode(rp.value.substr(semi + 1));
    if (!decoded || decoded->empty() || !no_controls(*decoded)) return syntax_error("Bad ORCPT value");
    p.orcpt_type = std::string(type);
    p.orcpt = std::move(*decoded);
  } else {
    return unsupported(kw);
  }
  return std::nullopt;
}

// The part MAIL and RCPT share: tokenize, then apply each parameter in order. On the
// first error the result has that error and no params (params.h: first error wins).
template <class Params>
using ApplyParam = std::optional<ParamError> (*)(const RawParam&, const Extensions&, Params&, unsigned& seen);

template <class Parse, class Params>
Parse parse_params(std::string_view in, const Extensions& ext, ApplyParam<Params> apply) {
  Parse r;
  std::array<RawParam, kParamsMax> raw{};
  std::size_t n = 0;
  if (auto e = tokenize(in, raw, n)) {
    r.error = std::move(*e);
    return r;
  }
  Params p;
  unsigned seen = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (auto e = apply(raw[i], ext, p, seen)) {
      r.error = std::move(*e);
      return r;
    }
  }
  r.params = std::move(p);
  return r;
}

}  // namespace

MailParamsParse parse_mail_params(std::string_view in, const Extensions& ext) {
  MailParamsParse r = parse_params<MailParamsParse>(in, ext, apply_mail_param);
  // RFC 1870 §6.1 (2): over the fixed maximum -> 552. Checked after the syntax so that a
  // malformed command is reported as malformed. 0 means "no fixed maximum" (RFC 1870 §4).
  if (r.params && r.params->size && ext.message_bytes_max != 0 && *r.params->size > ext.message_bytes_max) {
    r.params.reset();
    r.error = make_error(552, 3, 4, "Message size exceeds fixed maximum message size");
  }
  return r;
}

RcptParamsParse parse_rcpt_params(std::string_view in, const Extensions& ext) {
  return parse_params<RcptParamsParse>(in, ext, apply_rcpt_param);
}

}  // namespace mail::smtp
