// libFuzzer target: the strict SASL base64 codec (proto/sasl/base64.h, RFC 4648 §4) and
// the lenient Content-Transfer-Encoding decoders (proto/message/transfer_encoding.h,
// RFC 2045 §6.7 quoted-printable, §6.8 base64), on hostile bytes.
// Byte 0 picks the Content-Transfer-Encoding name for decode_transfer() (bits 0-2) and the
// line length the encoded forms are wrapped at (bits 3-7); the rest is the input.
// Checks: strict encode is padded alphabet-only text of length 4*ceil(n/3) that decodes to
// the input; a strict decode that succeeds re-encodes to exactly its input (one wire form,
// one value) and agrees with the lenient decoder; the lenient decoder gives back the input
// from its encoding even when wrapped with CRLF (RFC 2045 §6.8: ignore non-alphabet
// octets); quoted-printable decoding of a reference encoding (every octet =XX or literal,
// soft line breaks "=\r\n") is the identity, and re-encoding any decode decodes to the same
// bytes; decoders never grow their input; unknown encodings fail, known ones dispatch.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "proto/message/transfer_encoding.h"
#include "proto/sasl/base64.h"

using namespace mail;

namespace {

bool b64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// Inserts CRLF every `width` octets (width 0: none), as a MIME body would be wrapped.
std::string wrap(std::string_view s, std::size_t width) {
  if (width == 0) return std::string(s);
  std::string out;
  for (std::size_t i = 0; i < s.size(); i += width) {
    out.append(s.substr(i, width));
    out.append("\r\n");
  }
  return out;
}

// A reference quoted-printable encoder (RFC 2045 §6.7 rules 1, 2, 5): printable ASCII other
// than '=' literally, everything else (CR and LF included) as =XX, a soft line break
// "=\r\n" before a line would pass `width` octets (width 0: never, but kept <= 76 anyway).
std::string qp_encode(std::string_view in, std::size_t width) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  if (width < 4 || width > 76) width = 76;
  std::string out;
  std::size_t line = 0;
  for (char ch : in) {
    const auto u = static_cast<unsigned char>(ch);
    char unit[3];
    std::size_t n = 0;
    if (u >= 33 && u <= 126 && ch != '=') {
      unit[n++] = ch;
    } else {
      unit[n++] = '=';
      unit[n++] = kHex[u >> 4];
      unit[n++] = kHex[u & 15];
    }
    if (line + n + 1 > width) {  // room for the soft break's '='
      out.append("=\r\n");
      line = 0;
    }
    out.append(unit, n);
    line += n;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t knobs = data[0];
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t width = 4u * (knobs >> 3);  // 0, 4, 8 .. 124

  // Strict base64: encode, then decode.
  const std::string enc = sasl::base64_encode(in);
  MAIL_ASSERT(enc.size() == (in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < enc.size(); ++i) {
    if (enc[i] == '=') {
      MAIL_ASSERT(i + 2 >= enc.size());
    } else {
      MAIL_ASSERT(b64_char(enc[i]));
    }
  }
  MAIL_ASSERT(sasl::base64_decode(enc) == std::string(in));
  MAIL_ASSERT(message::decode_base64_lenient(enc) == in);
  MAIL_ASSERT(message::decode_base64_lenient(wrap(enc, width)) == in);

  // Strict decode of arbitrary bytes: canonical when it succeeds.
  if (const auto d = sasl::base64_decode(in)) {
    MAIL_ASSERT(sasl::base64_encode(*d) == in);
    MAIL_ASSERT(message::decode_base64_lenient(in) == *d);
  }
  const std::string lenient = message::decode_base64_lenient(in);
  MAIL_ASSERT(lenient.size() <= in.size());
  MAIL_ASSERT(message::decode_base64_lenient(sasl::base64_encode(lenient)) == lenient);

  // Quoted-printable.
  MAIL_ASSERT(message::decode_quoted_printable(qp_encode(in, width)) == in);
  const std::string qp = message::decode_quoted_printable(in);
  MAIL_ASSERT(qp.size() <= in.size());
  MAIL_ASSERT(message::decode_quoted_printable(qp_encode(qp, width)) == qp);
  // Text without '=' is its own encoding.
  if (in.find('=') == std::string_view::npos) MAIL_ASSERT(qp == in);

  // Content-Transfer-Encoding dispatch (names case-insensitive, blanks trimmed).
  static constexpr std::string_view kNames[] = {"", "7bit", " BASE64 ", "Quoted-Printable", "8BIT", "binary",
                                                "x-uuencode", "base-64"};
  const std::string_view name = kNames[knobs & 7];
  const auto r = message::decode_transfer(in, name);
  switch (knobs & 7) {
    case 2: MAIL_ASSERT(r && r.value() == lenient); break;
    case 3: MAIL_ASSERT(r && r.value() == qp); break;
    case 6:
    case 7: MAIL_ASSERT(!r && r.code() == Errc::unsupported); break;
    default: MAIL_ASSERT(r && r.value() == in); break;
  }
  return 0;
}
