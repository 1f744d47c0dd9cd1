// RFC 2047 encoded-word decoding (§2 syntax, §4.1 B, §4.2 Q, §6.2 adjacent words) and
// charset conversion to UTF-8: utf-8, us-ascii, iso-8859-1 and windows-1252 built in, other
// charsets through glibc iconv. Output is always valid UTF-8 (U+FFFD for bad octets).
// No I/O; iconv descriptors are opened and closed per call (no global state).
#include "proto/message/encoded_word.h"

#include <iconv.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "core/ascii.h"
#include "core/assert.h"
#include "proto/message/transfer_encoding.h"
#include "core/utf8.h"

namespace mail::message {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::size_t kWordBytesMax = 1024;  // lenient: real mail exceeds §2's 75 octets


// Length of the valid UTF-8 sequence at s[i] (RFC 3629 §4: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0 when the octets there are not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c >= 0xE0 && c <= 0xEF) { n = 3; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
  else if (c >= 0xF0 && c <= 0xF4) { n = 4; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
  else return 0;
  if (i + n > s.size()) return 0;
  const auto c1 = static_cast<unsigned char>(s[i + 1]);
  if (c1 < lo || c1 > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    const auto ck = static_cast<unsigned char>(s[i + k]);
    if (ck < 0x80 || ck > 0xBF) return 0;
  }
  return n;
}

// WHATWG windows-1252 0x80-0x9F (0 = unassigned, kept as the C1 control, as WHATWG does).
constexpr std::uint16_t kCp1252[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

std::string latin1_to_utf8(std::string_view in, bool cp1252) {
  std::string out;
  out.reserve(in.size() + in.size() / 2);
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (cp1252 && c >= 0x80 && c <= 0x9F) append_utf8(out, kCp1252[c - 0x80]);
    else append_utf8(out, c);
  }
  return out;
}

std::string ascii_to_utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (char ch : in) {
    if (static_cast<unsigned char>(ch) < 0x80) out.push_back(ch);
    else out.append(kReplacement);
  }
  return out;
}

std::optional<std::string> iconv_to_utf8(std::string_view charset, std::string_view in) {
  // iconv_open needs a NUL-terminated name; refuse names that could not be charsets.
  if (charset.empty() || charset.size() > 40) return std::nullopt;
  for (char c : charset)
    if (!(is_alpha(static_cast<unsigned char>(c)) || is_digit(static_cast<unsigned char>(c)) || c == '-' ||
          c == '_' || c == '.' || c == ':'))
      return std::nullopt;
  const std::string name(charset);
  iconv_t cd = iconv_open("UTF-8", name.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) return std::nullopt;
  std::string out;
  char buf[1024];
  char* src = const_cast<char*>(in.data());  // iconv's interface is not const-correct
  std::size_t src_left = in.size();
  while (src_left > 0) {
    char* dst = buf;
    std::size_t dst_left = sizeof buf;
    const std::size_t r = iconv(cd, &src, &src_left, &dst, &dst_left);
    out.append(buf, static_cast<std::size_t>(dst - buf));
    if (r == static_cast<std::size_t>(-1)) {
      if (errno == E2BIG) continue;
      // EILSEQ / EINVAL: one bad (or truncated) input octet becomes U+FFFD.
      out.append(kReplacement);
      ++src;
      --src_left;
    }
  }
  // Flush any shift state (stateful charsets such as ISO-2022-JP).
  char* dst = buf;
  std::size_t dst_left = sizeof buf;
  iconv(cd, nullptr, nullptr, &dst, &dst_left);
  out.append(buf, static_cast<std::size_t>(dst - buf));
  iconv_close(cd);
  return sanitize_utf8(out);
}

// The next occurrence of a pattern at or after a position, remembered: the positions asked
// for only grow while decoding one text, so all searches together scan the text about once.
class NextFinder {
 public:
  NextFinder(std::string_view all, bool any_space) : all_(all), any_space_(any_space) {}
  std::size_t next(std::size_t p) {
    if (!known_ || p < from_ || (at_ != std::string_view::npos && at_ < p)) {
      at_ = any_space_ ? all_.find_first_of(" \t\r\n", p) : all_.find("?=", p);
      from_ = p;
      known_ = true;
    }
    return at_;
  }

 private:
  std::string_view all_;
  bool any_space_;  // white space, else the encoded-word end "?="
  std::size_t from_ = 0;
  std::size_t at_ = std::string_view::npos;
  bool known_ = false;
};

struct Finders {
  NextFinder close;
  NextFinder space;
};

// Decodes one encoded-word at text[pos] ("=?" already seen); on success sets `end` just past
// "?=" and returns the UTF-8 text.
std::optional<std::string> decode_word(std::string_view all, std::size_t pos, Finders& find,
                                       std::size_t& end) {
  MAIL_ASSERT(all.substr(pos, 2) == "=?");
  // §2: an encoded-word contains no white space and is at most 75 octets. Look for its end
  // only up to the next white space and within kWordBytesMax, so text full of "=?" that
  // never closes costs (near) linear time, not quadratic.
  const std::size_t space = find.space.next(pos);
  const std::size_t limit = std::min({all.size(), pos + kWordBytesMax, space});
  const std::string_view text = all.substr(0, limit);
  const std::size_t q1 = text.find('?', pos + 2);
  if (q1 == std::string_view::npos || q1 + 3 >= text.size() || text[q1 + 2] != '?') return std::nullopt;
  std::string_view charset = text.substr(pos + 2, q1 - pos - 2);
  if (const std::size_t star = charset.find('*'); star != std::string_view::npos)
    charset = charset.substr(0, star);  // RFC 2231 §5: charset*language
  const char enc = ascii_upper(text[q1 + 1]);
  const std::size_t q2 = find.close.next(q1 + 3);
  if (q2 == std::string_view::npos || q2 + 2 > text.size() || charset.empty()) return std::nullopt;
  const std::string_view payload = text.substr(q1 + 3, q2 - q1 - 3);
  std::string bytes;
  if (enc == 'B') {
    bytes = decode_base64_lenient(payload);
  } else if (enc == 'Q') {
    // §4.2: "_" is SP; "=XX" a hex octet; everything else itself.
    std::string qp;
    qp.reserve(payload.size());
    for (char c : payload) qp.push_back(c == '_' ? ' ' : c);
    bytes = decode_quoted_printable(qp);
  } else {
    return std::nullopt;
  }
  auto utf8 = charset_to_utf8(charset, bytes);
  if (!utf8) return std::nullopt;
  end = q2 + 2;
  return utf8;
}

}  // namespace

std::string sanitize_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    const std::size_t n = utf8_sequence(bytes, i);
    if (n == 0) {
      out.append(kReplacement);
      ++i;
    } else {
      out.append(bytes.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::optional<std::string> charset_to_utf8(std::string_view charset, std::string_view bytes) {
  if (charset.empty() || iequals(charset, "us-ascii") || iequals(charset, "ascii") ||
      iequals(charset, "ansi_x3.4-1968"))
    return ascii_to_utf8(bytes);
  if (iequals(charset, "utf-8") || iequals(charset, "utf8")) return sanitize_utf8(bytes);
  if (iequals(charset, "iso-8859-1") || iequals(charset, "latin1") || iequals(charset, "iso_8859-1"))
    return latin1_to_utf8(bytes, false);
  if (iequals(charset, "windows-1252") || iequals(charset, "cp1252")) return latin1_to_utf8(bytes, true);
  return iconv_to_utf8(charset, bytes);
}

std::string decode_encoded_words(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool after_word = false;
  std::size_t plain_begin = 0;  // start of the current run of ordinary text
  auto flush_plain = [&](std::size_t until) {
    if (until <= plain_begin) return;
    const std::string_view plain = text.substr(plain_begin, until - plain_begin);
    // 8-bit header text (RFC 6532) is UTF-8; anything else is most likely windows-1252.
    if (sanitize_utf8(plain) == plain) out.append(plain);
    else out.append(latin1_to_utf8(plain, true));
  };
  Finders finders{NextFinder(text, false), NextFinder(text, true)};
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '=' && i + 1 < text.size() && text[i + 1] == '?') {
      std::size_t end = 0;
      if (auto word = decode_word(text, i, finders, end)) {
        // §6.2: linear white space between two adjacent encoded-words is ignored.
        std::size_t ws_begin = i;
        while (ws_begin > plain_begin && is_blank(static_cast<unsigned char>(text[ws_begin - 1]))) --ws_begin;
        const bool only_space = after_word && ws_begin == plain_begin;
        flush_plain(only_space ? plain_begin : i);
        out.append(*word);
        i = end;
        plain_begin = i;
        after_word = true;
        continue;
      }
    }
    ++i;
  }
  flush_plain(text.size());
  MAIL_ASSERT(sanitize_utf8(out).size() == out.size());
  return out;
}

}  // namespace mail::message
