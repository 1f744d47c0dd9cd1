// Tests for BODY / BODYSTRUCTURE (RFC 9051 §7.5.2): the RFC's single-part and two-part
// examples reproduced byte for byte, message/rfc822 (envelope, body, lines), the extension
// data of BODYSTRUCTURE (md5, disposition, language, location), RFC 2231 parameters kept in
// their extended form, and a multipart without parts.
#include "proto/imap/bodystructure.h"

#include <gtest/gtest.h>

#include <string>

namespace mail::imap {
namespace {

using message::parse_mime;

// A body of `lines` lines (the last one unterminated when `last_open`) of `octets` octets.
std::string make_body(std::size_t octets, std::size_t lines, bool last_open) {
  std::string out;
  const std::size_t ends = last_open ? lines - 1 : lines;
  const std::size_t text = octets - 2 * ends;
  for (std::size_t i = 0; i < lines; ++i) {
    const std::size_t len = text / lines + (i < text % lines ? 1 : 0);
    out.append(len, static_cast<char>('a' + i % 26));
    if (i < ends) out.append("\r\n");
  }
  EXPECT_EQ(out.size(), octets);
  return out;
}

TEST(BodyStructureRfc9051_S7_5_2, SinglePartExample) {
  const std::string msg =
      "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\nFrom: Terry Gray <gray@cac.washington.edu>\r\n"
      "MIME-Version: 1.0\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n" + make_body(3028, 92, false);
  const auto tree = parse_mime(msg);
  EXPECT_EQ(bodystructure(msg, tree, false), "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92)");
  EXPECT_EQ(bodystructure(msg, tree, true),
            "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92 NIL NIL NIL NIL)");
}

TEST(BodyStructureRfc9051_S7_5_2, TwoPartExample) {
  const std::string msg =
      "Content-Type: MULTIPART/MIXED; BOUNDARY=\"x\"\r\n\r\n--x\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\r\n" +
      make_body(1152, 23, true) +
      "\r\n--x\r\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII; NAME=cc.diff\r\n"
      "Content-ID: <960723163407.20117h@cac.washington.edu>\r\nContent-Description: Compiler diff\r\n"
      "Content-Transfer-Encoding: BASE64\r\n\r\n" + make_body(4554, 73, true) + "\r\n--x--\r\n";
  const auto tree = parse_mime(msg);
  EXPECT_EQ(bodystructure(msg, tree, false),
            "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23)"
            "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") "
            "\"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4554 73) \"MIXED\")");
  EXPECT_EQ(bodystructure(msg, tree, true),
            "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23 NIL NIL NIL NIL)"
            "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") "
            "\"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4554 73 NIL NIL NIL NIL) "
            "\"MIXED\" (\"BOUNDARY\" \"x\") NIL NIL NIL)");
}

TEST(BodyStructureRfc9051_S7_5_2, MessageRfc822AndExtensionData) {
  const std::string inner = "Subject: in\r\nFrom: a@b.test\r\n\r\nhi\r\nthere\r\n";
  const std::string msg =
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
      "Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename*=utf-8''%C3%A9.eml\r\n"
      "Content-Language: en, de\r\nContent-Location: x.eml\r\nContent-MD5: bWQ1\r\n\r\n" + inner +
      "\r\n--b--\r\n";
  const auto tree = parse_mime(msg);
  EXPECT_EQ(bodystructure(msg, tree, true),
            "((\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 42 "
            "(NIL \"in\" ((NIL NIL \"a\" \"b.test\")) ((NIL NIL \"a\" \"b.test\")) ((NIL NIL \"a\" \"b.test\")) "
            "NIL NIL NIL NIL NIL) "
            "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 11 2 NIL NIL NIL NIL) 5 "
            "\"bWQ1\" (\"attachment\" (\"filename*\" \"utf-8''%C3%A9.eml\")) (\"en\" \"de\") \"x.eml\") "
            "\"mixed\" (\"boundary\" \"b\") NIL NIL NIL)");
  EXPECT_EQ(inner.size(), 42u);
}

TEST(BodyStructureRfc9051_S7_5_2, MultipartWithoutPartsStillHasABody) {
  const std::string msg = "Content-Type: multipart/mixed; boundary=none\r\n\r\nno delimiter here\r\n";
  const auto tree = parse_mime(msg);
  EXPECT_EQ(bodystructure(msg, tree, false),
            "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")");
}

TEST(BodyStructureRfc9051_S7_5_2, BasicAndEightBitParameters) {
  const std::string msg = "Content-Type: image/png; name=\"\xC3\xA9.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBO";
  const auto tree = parse_mime(msg);
  EXPECT_EQ(bodystructure(msg, tree, false),
            "(\"image\" \"png\" (\"name\" {6}\r\n\xC3\xA9.png) NIL NIL \"base64\" 4)");
}

TEST(BodyStructureRfc2045_S5_2, TextWithoutCharsetGetsTheDefault) {
  const std::string msg = "Content-Type: text/html\r\n\r\n<p>";
  EXPECT_EQ(bodystructure(msg, parse_mime(msg), false),
            "(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 3 1)");
  const std::string flowed = "Content-Type: text/plain; format=flowed\r\n\r\n";
  EXPECT_EQ(bodystructure(flowed, parse_mime(flowed), false),
            "(\"text\" \"plain\" (\"charset\" \"us-ascii\" \"format\" \"flowed\") NIL NIL \"7BIT\" 0 0)");
}

}  // namespace
}  // namespace mail::imap
