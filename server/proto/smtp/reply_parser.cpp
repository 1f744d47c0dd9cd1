// SMTP reply parser (client side): RFC 5321 §4.2 / §4.2.1 reply grammar, §4.5.3.1.5 line
// length, RFC 2034 / RFC 3463 enhanced codes, and EHLO keyword lines (§4.1.1.1).
// It must not read a socket or clock, throw, or buffer more than the limits allow.
#include "proto/smtp/reply_parser.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "core/assert.h"
#include "proto/smtp/chars.h"

namespace mail::smtp {

std::string_view to_string(ReplyError e) noexcept {
  switch (e) {
    case ReplyError::none: return "none";
    case ReplyError::line_too_long: return "line_too_long";
    case ReplyError::too_many_lines: return "too_many_lines";
    case ReplyError::reply_too_long: return "reply_too_long";
    case ReplyError::bad_code: return "bad_code";
    case ReplyError::code_mismatch: return "code_mismatch";
    case ReplyError::bad_separator: return "bad_separator";
    case ReplyError::bad_character: return "bad_character";
  }
  return "unknown";
}

namespace {

// Reads 1*3 DIGIT at `pos`; returns the number of digits read (0 = none).
std::size_t read_number(std::string_view s, std::size_t pos, std::uint16_t& out) noexcept {
  std::size_t n = 0;
  unsigned v = 0;
  while (pos + n < s.size() && n < 4 && is_digit(s[pos + n])) {
    v = v * 10 + static_cast<unsigned>(s[pos + n] - '0');
    ++n;
  }
  if (n == 0 || n > 3) return 0;
  out = static_cast<std::uint16_t>(v);
  return n;
}

// Strips the enhanced code prefix ("2.1.0 " or exactly "2.1.0") from one line's text.
std::string strip_enhanced(std::string_view text, std::string_view prefix) {
  if (text.size() >= prefix.size() && text.substr(0, prefix.size()) == prefix) {
    if (text.size() == prefix.size()) return {};
    if (text[prefix.size()] == ' ') return std::string(text.substr(prefix.size() + 1));
  }
  return std::string(text);
}

bool is_keyword(std::string_view k) noexcept {
  // RFC 5321 §4.1.1.1: ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
  if (k.empty() || k.size() > 64) return false;
  for (std::size_t i = 0; i < k.size(); ++i) {
    if (!is_let_dig(k[i]) && !(i > 0 && k[i] == '-')) return false;
  }
  return true;
}

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_blank(s[i])) ++i;
    const std::size_t start = i;
    while (i < s.size() && !is_blank(s[i])) ++i;
    if (i > start) words.push_back(s.substr(start, i - start));
  }
  return words;
}

// Checked decimal: RFC 1870 SIZE value. nullopt on overflow or a non-digit.
std::optional<std::uint64_t> parse_u64(std::string_view s) noexcept {
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace

EnhancedCode parse_enhanced_code(std::string_view text, std::uint16_t reply_code) noexcept {
  // RFC 3463 §2: status-code = class "." subject "." detail; class = "2"/"4"/"5";
  // subject = 1*3digit; detail = 1*3digit. RFC 2034 §4: the class matches the reply.
  if (text.size() < 5) return {};
  const char cls = text[0];
  if (cls != '2' && cls != '4' && cls != '5') return {};
  if (static_cast<unsigned>(cls - '0') != reply_code / 100u) return {};
  if (text[1] != '.') return {};
  EnhancedCode e;
  e.cls = static_cast<std::uint8_t>(cls - '0');
  std::size_t pos = 2;
  const std::size_t ns = read_number(text, pos, e.subject);
  if (ns == 0) return {};
  pos += ns;
  if (pos >= text.size() || text[pos] != '.') return {};
  ++pos;
  const std::size_t nd = read_number(text, pos, e.detail);
  if (nd == 0) return {};
  pos += nd;
  if (pos != text.size() && text[pos] != ' ') return {};
  MAIL_ASSERT(!e.empty());
  return e;
}

void ReplyParser::reset() {
  line_.clear();
  lines_.clear();
  code_ = 0;
  reply_bytes_ = 0;
  done_ = false;
  error_ = ReplyError::none;
}

ReplyParser::Status ReplyParser::fail(ReplyError e) {
  MAIL_ASSERT(e != ReplyError::none);
  error_ = e;
  line_.clear();
  lines_.clear();
  reply_bytes_ = 0;
  done_ = false;
  return Status::error;
}

ReplyParser::Step ReplyParser::parse(std::string_view in) {
  if (error_ != ReplyError::none) return {Status::error, 0};
  // A completed reply must be taken before the next one starts.
  MAIL_ASSERT(!done_);
  std::size_t pos = 0;
  while (pos < in.size()) {
    const char* nl = static_cast<const char*>(std::memchr(in.data() + pos, '\n', in.size() - pos));
    const std::size_t end = nl ? static_cast<std::size_t>(nl - in.data()) : in.size();
    // Budget check before buffering: the line so far plus its terminator must fit.
    const std::size_t piece = end - pos;
    if (line_.size() + piece + (nl ? 1 : 0) > limits_.line_bytes_tolerated) {
      (void)fail(ReplyError::line_too_long);
      return {Status::error, pos};
    }
    line_.append(in.data() + pos, piece);
    pos = end;
    if (!nl) break;
    ++pos;  // the LF
    const Status s = finish_line();
    line_.clear();
    if (s == Status::error) return {Status::error, pos};
    if (s == Status::ok) return {Status::ok, pos};
  }
  MAIL_ASSERT(pos == in.size());
  return {Status::need_more, pos};
}

ReplyParser::Status ReplyParser::finish_line() {
  std::string_view line = line_;
  // CRLF is canonical; a bare LF is tolerated (it cannot change how we frame our output).
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find('\r') != std::string_view::npos) return fail(ReplyError::bad_character);
  if (line.find('\0') != std::string_view::npos) return fail(ReplyError::bad_character);
  // RFC 5321 §4.2: Reply-code = %x32-35 %x30-35 %x30-39
  if (line.size() < 3) return fail(ReplyError::bad_code);
  if (line[0] < '2' || line[0] > '5') return fail(ReplyError::bad_code);
  if (line[1] < '0' || line[1] > '5') return fail(ReplyError::bad_code);
  if (!is_digit(line[2])) return fail(ReplyError::bad_code);
  const auto code = static_cast<std::uint16_t>((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
  if (!lines_.empty() && code != code_) return fail(ReplyError::code_mismatch);

  // Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF
  bool last = false;
  std::string_view text;
  if (line.size() == 3) {
    last = true;
  } else if (line[3] == '-') {
    text = line.substr(4);
  } else if (line[3] == ' ') {
    last = true;
    text = line.substr(4);
  } else {
    return fail(ReplyError::bad_separator);
  }
  if (lines_.size() >= limits_.lines_max) return fail(ReplyError::too_many_lines);
  if (reply_bytes_ + text.size() > limits_.reply_bytes_max) return fail(ReplyError::reply_too_long);
  code_ = code;
  reply_bytes_ += text.size();
  lines_.emplace_back(text);
  if (!last) return Status::need_more;
  done_ = true;
  return Status::ok;
}

Reply ReplyParser::take() {
  MAIL_ASSERT(done_);
  MAIL_ASSERT(!lines_.empty());
  Reply r;
  r.code = code_;
  r.enhanced = parse_enhanced_code(lines_.front(), code_);
  if (r.enhanced.empty()) {
    r.lines = std::move(lines_);
  } else {
    // RFC 2034 §4 puts the code on every line; strip it where it is repeated so the
    // texts are the human part only (Reply::to_wire adds it back).
    const std::string prefix = r.enhanced.to_string();
    r.lines.reserve(lines_.size());
    for (const auto& l : lines_) r.lines.push_back(strip_enhanced(l, prefix));
  }
  lines_.clear();
  code_ = 0;
  reply_bytes_ = 0;
  done_ = false;
  MAIL_ASSERT(!r.lines.empty());
  return r;
}

bool Capabilities::has(std::string_view keyword) const noexcept { return find(keyword) != nullptr; }

const Capability* Capabilities::find(std::string_view keyword) const noexcept {
  for (const auto& c : items)
    if (iequals(c.keyword, keyword)) return &c;
  return nullptr;
}

Capabilities parse_capabilities(const Reply& r) {
  Capabilities caps;
  if (r.lines.empty()) return caps;
  // RFC 5321 §4.1.1.1: ehlo-ok-rsp = "250" SP Domain [ SP ehlo-greet ] CRLF
  //                                / "250-" Domain [ SP ehlo-greet ] CRLF
  //                                  *( "250-" ehlo-line CRLF ) "250" SP ehlo-line CRLF
  // The enhanced-code stripping of the parser does not apply: 250 EHLO lines carry none,
  // and a keyword never looks like "2.0.0".
  const auto first = split_words(r.lines.front());
  if (!first.empty()) caps.domain = std::string(first.front());
  for (std::size_t i = 1; i < r.lines.size(); ++i) {
    auto words = split_words(r.lines[i]);
    if (words.empty()) continue;
    Capability c;
    std::string_view kw = words.front();
    std::vector<std::string> params;
    // Old servers advertise "AUTH=LOGIN PLAIN" (pre-RFC 2554 drafts); read it as AUTH.
    if (const auto eq = kw.find('='); eq != std::string_view::npos) {
      if (eq + 1 < kw.size()) params.emplace_back(kw.substr(eq + 1));
      kw = kw.substr(0, eq);
    }
    if (!is_keyword(kw)) continue;
    c.keyword.reserve(kw.size());
    for (char ch : kw) c.keyword.push_back(ascii_upper(ch));
    for (std::size_t w = 1; w < words.size(); ++w) params.emplace_back(words[w]);
    c.params = std::move(params);

    const std::string& k = c.keyword;
    if (k == "PIPELINING") caps.pipelining = true;
    else if (k == "CHUNKING") caps.chunking = true;
    else if (k == "BINARYMIME") caps.binary_mime = true;
    else if (k == "8BITMIME") caps.eight_bit_mime = true;
    else if (k == "SMTPUTF8") caps.smtputf8 = true;
    else if (k == "STARTTLS") caps.starttls = true;
    else if (k == "DSN") caps.dsn = true;
    else if (k == "ENHANCEDSTATUSCODES") caps.enhanced_status_codes = true;
    else if (k == "SIZE") {
      if (!caps.size) {
        caps.size = true;
        // RFC 1870 §4: "SIZE" [SP number]; 0 or absent = no fixed maximum. A malformed or
        // overflowing number is read as "no declared limit" (the server still enforces).
        if (!c.params.empty()) caps.size_max = parse_u64(c.params.front()).value_or(0);
      }
    } else if (k == "AUTH") {
      for (const auto& m : c.params) {
        std::string mech;
        mech.reserve(m.size());
        for (char ch : m) mech.push_back(ascii_upper(ch));
        if (std::find(caps.auth.begin(), caps.auth.end(), mech) == caps.auth.end())
          caps.auth.push_back(std::move(mech));
      }
    }
    caps.items.push_back(std::move(c));
  }
  MAIL_ASSERT(caps.items.size() < r.lines.size());
  return caps;
}

}  // namespace mail::smtp
