// Tests for the MIME tree parser: RFC 2045 §5.2 defaults, RFC 2046 §5.1.1 multipart
// splitting (offsets, preamble/epilogue, missing close delimiter), §5.1.5 digest defaults,
// §5.2.1 message/rfc822 recursion, RFC 2231 parameters, RFC 2183/3282 fields and limits.
#include "proto/message/mime.h"

#include <gtest/gtest.h>

#include <string>

namespace mail::message {
namespace {

std::string body_of(std::string_view msg, const MimePart& p) {
  return std::string(msg.substr(p.body_begin, p.end - p.body_begin));
}
std::string header_of(std::string_view msg, const MimePart& p) {
  return std::string(msg.substr(p.header_begin, p.body_begin - p.header_begin));
}

TEST(MimeRfc2045_S5_2, DefaultTypeIsTextPlainUsAscii) {
  const std::string msg = "Subject: x\r\n\r\nline1\r\nline2";
  const MimeTree t = parse_mime(msg);
  ASSERT_EQ(t.parts.size(), 1u);
  const MimePart& p = t.parts[0];
  EXPECT_EQ(p.type, "text");
  EXPECT_EQ(p.subtype, "plain");
  EXPECT_FALSE(p.has_content_type);
  EXPECT_EQ(p.charset(), "us-ascii");
  EXPECT_EQ(p.body_begin, 14u);
  EXPECT_EQ(p.end, msg.size());
  EXPECT_EQ(p.lines, 2u);
  EXPECT_EQ(count_lines("a\r\nb\r\n"), 2u);
  EXPECT_EQ(count_lines(""), 0u);
}

TEST(MimeRfc2045_S5_1, ContentTypeWithCommentsAndQuotedParams) {
  const std::string msg =
      "Content-Type: Text/HTML (a comment); charset=\"UTF-8\" ;\r\n format=flowed; bad; x=\"a\\\"b\"\r\n"
      "Content-Transfer-Encoding: Quoted-Printable (why)\r\nContent-ID: <id@x>\r\n"
      "Content-Description: desc\r\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
      "Content-Location: http://a.test/x\r\nContent-Language: en, (c) de-AT\r\n"
      "Content-Disposition: attachment; filename=a.txt; size=3\r\n\r\nhey";
  const MimePart p = parse_mime(msg).parts[0];
  EXPECT_EQ(p.type, "Text");
  EXPECT_EQ(p.subtype, "HTML");
  ASSERT_EQ(p.params.size(), 3u);
  EXPECT_EQ(p.params[0].name, "charset");
  EXPECT_EQ(p.params[0].value, "UTF-8");
  EXPECT_EQ(p.params[1].name, "format");
  EXPECT_EQ(p.params[2].value, "a\"b");
  EXPECT_EQ(p.charset(), "UTF-8");
  EXPECT_EQ(p.encoding, "Quoted-Printable");
  EXPECT_EQ(p.id, "<id@x>");
  EXPECT_EQ(p.description, "desc");
  EXPECT_EQ(p.md5, "Q2hlY2sgSW50ZWdyaXR5IQ==");
  EXPECT_EQ(p.location, "http://a.test/x");
  EXPECT_EQ(p.language, (std::vector<std::string>{"en", "de-AT"}));
  EXPECT_EQ(p.disposition, "attachment");
  ASSERT_EQ(p.disposition_params.size(), 2u);
  EXPECT_EQ(p.disposition_params[0].value, "a.txt");
  EXPECT_EQ(p.lines, 1u);
}

TEST(MimeRfc2045_S5_2, InvalidContentTypeFallsBackToDefault) {
  const MimePart p = parse_mime("Content-Type: garbage\r\n\r\nx").parts[0];
  EXPECT_EQ(p.type, "text");
  EXPECT_EQ(p.subtype, "plain");
  EXPECT_FALSE(p.has_content_type);
}

TEST(MimeRfc2231_S3_S4, ContinuationsAndCharsets) {
  const std::string msg =
      "Content-Type: application/x-stuff;\r\n title*0*=us-ascii'en'This%20is%20even%20more%20;\r\n"
      " title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"; plain*1=\"b\"; plain*0=\"a\";\r\n"
      " name*=utf-8''caf%C3%A9.txt; subj=\"=?utf-8?q?=C3=A9t=C3=A9?=\"\r\n\r\n";
  const MimePart p = parse_mime(msg).parts[0];
  ASSERT_EQ(p.params.size(), 4u);
  EXPECT_EQ(p.params[0].name, "title*");
  EXPECT_EQ(p.params[0].value, "us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn%27t%20it!");
  EXPECT_EQ(p.params[0].utf8, "This is even more ***fun*** isn't it!");  // RFC 2231 §4.1 example
  EXPECT_EQ(p.params[1].name, "plain");
  EXPECT_EQ(p.params[1].value, "ab");
  EXPECT_EQ(p.param("NAME"), "caf\xC3\xA9.txt");
  EXPECT_EQ(p.params[2].value, "utf-8''caf%C3%A9.txt");
  EXPECT_EQ(p.param("subj"), "\xC3\xA9t\xC3\xA9");  // RFC 2047 words in a quoted value
}

const std::string kMixed =
    "From: a@b.test\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
    "preamble\r\n"
    "--XX\r\n"
    "Content-Type: text/plain\r\n\r\n"
    "first\r\n"
    "--XX  \r\n"
    "\r\n"
    "second\r\nline\r\n\r\n"
    "--XX--\r\n"
    "epilogue\r\n";

TEST(MimeRfc2046_S5_1_1, MultipartBodyParts) {
  const MimeTree t = parse_mime(kMixed);
  ASSERT_EQ(t.parts.size(), 3u);
  EXPECT_FALSE(t.truncated);
  const MimePart& root = t.parts[0];
  EXPECT_TRUE(root.is_multipart());
  EXPECT_EQ(root.param("boundary"), "XX");
  ASSERT_EQ(root.children, (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(body_of(kMixed, t.parts[1]), "first");  // the CRLF before "--XX" is the delimiter's
  EXPECT_EQ(header_of(kMixed, t.parts[1]), "Content-Type: text/plain\r\n\r\n");
  EXPECT_EQ(body_of(kMixed, t.parts[2]), "second\r\nline\r\n");
  EXPECT_EQ(header_of(kMixed, t.parts[2]), "\r\n");
  EXPECT_EQ(t.parts[2].lines, 2u);
  EXPECT_EQ(t.parts[1].parent, 0u);
  EXPECT_EQ(t.parts[2].depth, 1u);
}

TEST(MimeRfc2046_S5_1_1, MissingCloseDelimiterAndBareLf) {
  const std::string msg = "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nA\n--b\n\nB\n";
  const MimeTree t = parse_mime(msg);
  ASSERT_EQ(t.parts.size(), 3u);
  EXPECT_EQ(body_of(msg, t.parts[1]), "A");
  EXPECT_EQ(body_of(msg, t.parts[2]), "B\n");
}

TEST(MimeRfc2046_S5_1_1, MultipartWithoutBoundaryIsALeaf) {
  const MimeTree t = parse_mime("Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nA\r\n--x--\r\n");
  ASSERT_EQ(t.parts.size(), 1u);
  EXPECT_TRUE(t.parts[0].children.empty());
}

TEST(MimeRfc2046_S5_2_1, MessageRfc822IsParsedRecursively) {
  const std::string inner =
      "Subject: inner\r\nContent-Type: multipart/alternative; boundary=in\r\n\r\n"
      "--in\r\n\r\nplain\r\n--in\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--in--\r\n";
  const std::string msg = "Content-Type: multipart/mixed; boundary=out\r\n\r\n--out\r\n\r\nbody\r\n"
                          "--out\r\nContent-Type: message/rfc822\r\n\r\n" + inner + "\r\n--out--\r\n";
  const MimeTree t = parse_mime(msg);
  // 0 mixed, 1 text, 2 message/rfc822, 3 its message (alternative), 4 plain, 5 html
  ASSERT_EQ(t.parts.size(), 6u);
  EXPECT_TRUE(t.parts[2].is_message());
  ASSERT_EQ(t.parts[2].children, (std::vector<std::size_t>{3}));
  EXPECT_EQ(body_of(msg, t.parts[2]), inner);
  EXPECT_EQ(t.parts[3].header_begin, t.parts[2].body_begin);
  EXPECT_TRUE(t.parts[3].is_multipart());
  EXPECT_EQ(body_of(msg, t.parts[5]), "<p>html</p>");
  EXPECT_EQ(t.parts[5].depth, 3u);
}

TEST(MimeRfc2046_S5_1_5, DigestPartsDefaultToMessageRfc822) {
  const std::string msg = "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: s\r\n\r\nb\r\n--d--\r\n";
  const MimeTree t = parse_mime(msg);
  ASSERT_EQ(t.parts.size(), 3u);
  EXPECT_TRUE(t.parts[1].is_message());
  EXPECT_TRUE(t.parts[1].params.empty());
  EXPECT_EQ(body_of(msg, t.parts[2]), "b");
}

TEST(MimeLimits, DepthBeyondTheLimitIsALeaf) {
  std::string msg = "body";
  for (int i = 0; i < 30; ++i) msg = "Content-Type: message/rfc822\r\n\r\n" + msg;
  MimeLimits limits;
  limits.depth_max = 20;
  const MimeTree t = parse_mime(msg, limits);
  EXPECT_TRUE(t.truncated);
  EXPECT_EQ(t.parts.size(), 21u);
  EXPECT_EQ(t.parts.back().depth, 20u);
  EXPECT_TRUE(t.parts.back().children.empty());
}

TEST(MimeLimits, PartCountBeyondTheLimitIsNotListed) {
  std::string msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (int i = 0; i < 50; ++i) msg += "--b\r\n\r\nx\r\n";
  msg += "--b--\r\n";
  MimeLimits limits;
  limits.parts_max = 10;
  const MimeTree t = parse_mime(msg, limits);
  EXPECT_EQ(t.parts.size(), 10u);
  EXPECT_TRUE(t.truncated);
  EXPECT_EQ(parse_mime(msg).parts.size(), 51u);
}

}  // namespace
}  // namespace mail::message
