// Tests for RFC 2047 decoding (§4.1 B, §4.2 Q, §6.2 adjacent words, §8 examples), charset
// conversion (built-in and iconv) and RFC 2045 §6.7 / §6.8 transfer decoding.
#include "proto/message/encoded_word.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "proto/message/transfer_encoding.h"
#include "proto/sasl/base64.h"

namespace mail::message {
namespace {

TEST(EncodedWordRfc2047_S4, BAndQ) {
  EXPECT_EQ(decode_encoded_words("=?UTF-8?B?w6k=?="), "\xC3\xA9");
  EXPECT_EQ(decode_encoded_words("=?iso-8859-1?q?caf=E9_au_lait?="), "caf\xC3\xA9 au lait");
  EXPECT_EQ(decode_encoded_words("=?windows-1252?Q?=80?="), "\xE2\x82\xAC");
  EXPECT_EQ(decode_encoded_words("=?us-ascii*en?q?hi?="), "hi");  // RFC 2231 §5 language
}

TEST(EncodedWordRfc2047_S8, ExamplesOfAdjacentWords) {
  EXPECT_EQ(decode_encoded_words("(=?ISO-8859-1?Q?a?=)"), "(a)");
  EXPECT_EQ(decode_encoded_words("(=?ISO-8859-1?Q?a?= b)"), "(a b)");
  EXPECT_EQ(decode_encoded_words("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)"), "(ab)");
  EXPECT_EQ(decode_encoded_words("(=?ISO-8859-1?Q?a?=  \t =?ISO-8859-1?Q?b?=)"), "(ab)");
  EXPECT_EQ(decode_encoded_words("(=?ISO-8859-1?Q?a_b?=)"), "(a b)");
  EXPECT_EQ(decode_encoded_words("a =?ISO-8859-1?Q?b?="), "a b");
  EXPECT_EQ(decode_encoded_words("=?utf-8?q?a?= x =?utf-8?q?b?="), "a x b");
}

TEST(EncodedWordRfc2047_S6_3, MalformedAndUnknownKeptLiterally) {
  EXPECT_EQ(decode_encoded_words("=?x-no-such-charset?q?a?="), "=?x-no-such-charset?q?a?=");
  EXPECT_EQ(decode_encoded_words("=?utf-8?x?a?="), "=?utf-8?x?a?=");
  EXPECT_EQ(decode_encoded_words("=?utf-8?q?a b?="), "=?utf-8?q?a b?=");
  EXPECT_EQ(decode_encoded_words("=?utf-8?q?unterminated"), "=?utf-8?q?unterminated");
}

TEST(EncodedWordCharsets, IconvAndSanitizing) {
  EXPECT_EQ(decode_encoded_words("=?koi8-r?q?=D0=D2=C9=D7=C5=D4?="),
            "\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");  // привет
  EXPECT_EQ(decode_encoded_words("=?utf-8?q?=FF?="), "\xEF\xBF\xBD");
  EXPECT_EQ(decode_encoded_words("caf\xE9"), "caf\xC3\xA9");  // raw 8-bit, not UTF-8: cp1252
  EXPECT_EQ(decode_encoded_words("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(charset_to_utf8("x-nonsense", "a"), std::nullopt);
  EXPECT_EQ(charset_to_utf8("us-ascii", "a\x80"), "a\xEF\xBF\xBD");
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
}

TEST(TransferEncodingRfc2045_S6_8, Base64Lenient) {
  EXPECT_EQ(decode_base64_lenient("aGVs\r\nbG8=\r\n"), "hello");
  EXPECT_EQ(decode_base64_lenient("aGVsbG8"), "hello");
  EXPECT_EQ(decode_base64_lenient("a!G*Vs bG8="), "hello");
}

TEST(TransferEncodingRfc2045_S6_7, QuotedPrintable) {
  EXPECT_EQ(decode_quoted_printable("caf=C3=A9=\r\n au=20lait=\nx"), "caf\xC3\xA9 au lait" "x");
  EXPECT_EQ(decode_quoted_printable("a=3d=3D=zz="), "a==" "=zz");
  EXPECT_EQ(decode_quoted_printable("trail=  \r\nend"), "trailend");
}

TEST(TransferEncodingRfc3516_S4_3, UnknownEncodingIsAnError) {
  EXPECT_EQ(decode_transfer("x", "x-uuencode").code(), Errc::unsupported);
  EXPECT_EQ(decode_transfer("aGk=", " BASE64 ").value(), "hi");
  EXPECT_EQ(decode_transfer("a=3Db", "Quoted-Printable").value(), "a=b");
  EXPECT_EQ(decode_transfer("a=3Db", "8bit").value(), "a=3Db");
  EXPECT_EQ(decode_transfer("a=3Db", "").value(), "a=3Db");
}

// RFC 2045 §6.8: a reader ignores octets outside the alphabet, so a base64 body wrapped in
// CRLF lines decodes to what was encoded (fuzz/base64 checks the same on hostile input).
RC_GTEST_PROP(TransferEncodingRfc2045_S6_8, LenientBase64ReadsWrappedEncoding, (const std::string& x)) {
  const std::string enc = sasl::base64_encode(x);
  const std::size_t width = *rc::gen::inRange<std::size_t>(1, 80);
  std::string wrapped;
  for (std::size_t i = 0; i < enc.size(); i += width) wrapped += enc.substr(i, width) + "\r\n";
  RC_ASSERT(decode_base64_lenient(wrapped) == x);
  RC_ASSERT(decode_base64_lenient(x).size() <= x.size());
}

// RFC 2045 §6.7: every octet as =XX (hex digits of either case) with soft line breaks
// decodes back; text without '=' decodes to itself.
RC_GTEST_PROP(TransferEncodingRfc2045_S6_7, QuotedPrintableReadsEveryOctetEscaped, (const std::string& x)) {
  const bool lower = *rc::gen::arbitrary<bool>();
  const char* hex = lower ? "0123456789abcdef" : "0123456789ABCDEF";
  std::string enc;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const auto u = static_cast<unsigned char>(x[i]);
    enc += '=';
    enc += hex[u >> 4];
    enc += hex[u & 15];
    if (i % 25 == 24) enc += "=\r\n";
  }
  RC_ASSERT(decode_quoted_printable(enc) == x);
  if (x.find('=') == std::string::npos) RC_ASSERT(decode_quoted_printable(x) == x);
}

}  // namespace
}  // namespace mail::message
