// Tests for RFC 9051 §6.4.5 section-spec parsing, part numbering and BODY[section] contents,
// RFC 3516 §4.2 BINARY[section] decoding and the <origin.count> partial.
#include "proto/message/section.h"

#include <gtest/gtest.h>

#include <string>

namespace mail::message {
namespace {

using Path = std::vector<std::uint32_t>;

TEST(SectionRfc9051_S6_4_5, ParseSectionSpec) {
  auto s = parse_section("");
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->part.empty());
  EXPECT_EQ(s->text, SectionText::none);
  s = parse_section("1.2.3");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->part, (Path{1, 2, 3}));
  s = parse_section("4.2.header.fields.not (From \"X-Y\")");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->part, (Path{4, 2}));
  EXPECT_EQ(s->text, SectionText::header_fields_not);
  EXPECT_EQ(s->fields, (std::vector<std::string>{"From", "X-Y"}));
  EXPECT_EQ(parse_section("TEXT")->text, SectionText::text);
  EXPECT_EQ(parse_section("3.MIME")->text, SectionText::mime);
  EXPECT_FALSE(parse_section("MIME"));  // MIME needs a part number
  EXPECT_FALSE(parse_section("0"));
  EXPECT_FALSE(parse_section("1."));
  EXPECT_FALSE(parse_section("1..2"));
  EXPECT_FALSE(parse_section("HEADER.FIELDS ()"));
  EXPECT_FALSE(parse_section("HEADER.FIELDS (a"));
  EXPECT_FALSE(parse_section("BOGUS"));
}

// RFC 9051 §6.4.5's example structure, reduced: a multipart/mixed whose part 3 is a
// message/rfc822 with a multipart body, and part 4 a multipart/mixed.
const std::string kMsg =
    "From: a@b.test\r\nSubject: top\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n"
    "--o\r\nContent-Type: text/plain\r\n\r\nP1\r\n"
    "--o\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n"
    "--o\r\nContent-Type: message/rfc822\r\n\r\n"
    "Subject: inner\r\nX-A: 1\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n"
    "--i\r\n\r\nP3.1\r\n--i\r\nContent-Type: text/html\r\n\r\nP3.2\r\n--i--\r\n"
    "--o\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
    "--m\r\nContent-Type: image/gif\r\nContent-Transfer-Encoding: x-weird\r\n\r\nGIF\r\n"
    "--m\r\nContent-Type: message/rfc822\r\n\r\nSubject: deep\r\n\r\nP4.2.1\r\n--m--\r\n"
    "--o--\r\n";

std::optional<std::string> body(std::string_view spec) {
  const MimeTree tree = parse_mime(kMsg);
  auto s = parse_section(spec);
  EXPECT_TRUE(s) << spec;
  if (!s) return std::nullopt;
  return extract_section(kMsg, tree, *s);
}

TEST(SectionRfc9051_S6_4_5, PartNumbers) {
  EXPECT_EQ(body("1"), "P1");
  EXPECT_EQ(body("2"), "aGVsbG8=");
  EXPECT_EQ(body("3.1"), "P3.1");
  EXPECT_EQ(body("3.2"), "P3.2");
  EXPECT_EQ(body("4.1"), "GIF");
  EXPECT_EQ(body("4.2.1"), "P4.2.1");  // the non-multipart message's single part
  EXPECT_EQ(body("5"), std::nullopt);
  EXPECT_EQ(body("1.1"), std::nullopt);
  EXPECT_EQ(body("3.3"), std::nullopt);
}

TEST(SectionRfc9051_S6_4_5, HeaderTextMime) {
  EXPECT_EQ(body(""), kMsg);
  EXPECT_EQ(body("HEADER"), "From: a@b.test\r\nSubject: top\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n");
  EXPECT_EQ(body("TEXT")->substr(0, 5), "--o\r\n");
  EXPECT_EQ(body("3.HEADER"),
            "Subject: inner\r\nX-A: 1\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n");
  EXPECT_EQ(body("3.TEXT"), "--i\r\n\r\nP3.1\r\n--i\r\nContent-Type: text/html\r\n\r\nP3.2\r\n--i--");
  EXPECT_EQ(body("3.MIME"), "Content-Type: message/rfc822\r\n\r\n");
  EXPECT_EQ(body("3.2.MIME"), "Content-Type: text/html\r\n\r\n");
  EXPECT_EQ(body("4.2.HEADER"), "Subject: deep\r\n\r\n");
  EXPECT_EQ(body("1.HEADER"), std::nullopt);  // not a message/rfc822 part
  EXPECT_EQ(body("3.1.TEXT"), std::nullopt);
}

TEST(SectionRfc9051_S6_4_5, HeaderFieldsAndNot) {
  EXPECT_EQ(body("HEADER.FIELDS (subject FROM)"), "From: a@b.test\r\nSubject: top\r\n\r\n");
  EXPECT_EQ(body("HEADER.FIELDS (X-None)"), "\r\n");
  EXPECT_EQ(body("HEADER.FIELDS.NOT (Content-Type From)"), "Subject: top\r\n\r\n");
  EXPECT_EQ(body("3.HEADER.FIELDS (X-A)"), "X-A: 1\r\n\r\n");
  const std::string folded = "Subject: a\r\n b\r\nTo: c";  // folded, and a last line without CRLF
  const MimeTree t = parse_mime(folded);
  EXPECT_EQ(extract_section(folded, t, *parse_section("HEADER.FIELDS (Subject To)")),
            "Subject: a\r\n b\r\nTo: c\r\n\r\n");
}

TEST(SectionRfc3516_S4_2, BinaryDecodesTheTransferEncoding) {
  const MimeTree t = parse_mime(kMsg);
  EXPECT_EQ(extract_binary(kMsg, t, Path{2}).value(), "hello");
  EXPECT_EQ(extract_binary(kMsg, t, Path{1}).value(), "P1");
  EXPECT_EQ(extract_binary(kMsg, t, Path{4, 1}).code(), Errc::unsupported);  // UNKNOWN-CTE
  EXPECT_EQ(extract_binary(kMsg, t, Path{9}).code(), Errc::not_found);
  EXPECT_EQ(extract_binary(kMsg, t, Path{4}).code(), Errc::not_found);  // multipart
}

TEST(SectionRfc9051_S6_4_5, Partial) {
  EXPECT_EQ(partial("0123456789", 2, 3), "234");
  EXPECT_EQ(partial("0123456789", 8, 10), "89");
  EXPECT_EQ(partial("0123456789", 10, 1), "");
  EXPECT_EQ(partial("0123456789", 4, std::nullopt), "456789");
  EXPECT_EQ(partial("0123456789", ~0ull, ~0ull), "");
}

}  // namespace
}  // namespace mail::message
