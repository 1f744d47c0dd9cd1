// libFuzzer target: RFC 2047 encoded-word decoding and charset conversion
// (proto/message/encoded_word.h) on header text from any sender: what IMAP ENVELOPE, search
// and JMAP show. Byte 0 picks a charset for charset_to_utf8 (bits 0-2); the rest is the
// text. Checks: decode_encoded_words and sanitize_utf8 always give valid UTF-8 (RFC 3629
// §4) within a constant factor of the input; sanitize_utf8 is the identity on valid UTF-8
// and idempotent; charset_to_utf8 gives valid UTF-8 for every known charset; decoding
// text with no "=?" changes only invalid octets (it is sanitize_utf8 or a windows-1252
// reading, never longer than 3 octets per input octet).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "proto/message/encoded_word.h"

using namespace mail;

namespace {

// RFC 3629 §4: no overlongs, no surrogates, nothing above U+10FFFF (written here, not
// core/utf8.h's, so the two can disagree).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) { ++i; continue; }
    if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
    else return false;
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = cp << 6 | (d & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  static constexpr std::string_view kCharsets[] = {"utf-8", "US-ASCII", "iso-8859-1", "windows-1252",
                                                   "ISO-8859-15", "koi8-r", "x-unknown", ""};

  const std::string dec = message::decode_encoded_words(in);
  MAIL_ASSERT(valid_utf8(dec));
  MAIL_ASSERT(dec.size() <= 4 * in.size() + 16);

  const std::string san = message::sanitize_utf8(in);
  MAIL_ASSERT(valid_utf8(san));
  MAIL_ASSERT(san.size() <= 3 * in.size());
  MAIL_ASSERT(message::sanitize_utf8(san) == san);
  if (valid_utf8(in)) MAIL_ASSERT(san == in);
  if (in.find("=?") == std::string_view::npos && valid_utf8(in)) MAIL_ASSERT(dec == in);

  const auto conv = message::charset_to_utf8(kCharsets[data[0] & 7], in);
  if ((data[0] & 7) <= 3 || (data[0] & 7) == 7) MAIL_ASSERT(conv.has_value());
  if (conv) {
    MAIL_ASSERT(valid_utf8(*conv));
    MAIL_ASSERT(conv->size() <= 4 * in.size());
  }
  return 0;
}
