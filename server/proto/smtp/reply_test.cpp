// Tests for the SMTP reply wire form: RFC 5321 §4.2 / §4.2.1 (multi-line replies, CRLF),
// RFC 2034 §4 and RFC 3463 §2 (enhanced status codes on every line). No I/O.
#include "proto/smtp/reply.h"

#include <gtest/gtest.h>

namespace mail::smtp {
namespace {

TEST(EnhancedCode, Rfc3463_S2_DottedForm) {
  EXPECT_EQ((EnhancedCode{2, 1, 0}).to_string(), "2.1.0");
  EXPECT_EQ((EnhancedCode{5, 7, 1}).to_string(), "5.7.1");
  EXPECT_EQ((EnhancedCode{4, 5, 3}).to_string(), "4.5.3");
}

TEST(EnhancedCode, Rfc3463_S2_ThreeDigitSubjectAndDetail) {
  EXPECT_EQ((EnhancedCode{5, 999, 999}).to_string(), "5.999.999");
  EXPECT_EQ((EnhancedCode{4, 10, 100}).to_string(), "4.10.100");
}

TEST(EnhancedCode, EmptyHasNoTextAndCompares) {
  EXPECT_TRUE(EnhancedCode{}.empty());
  EXPECT_EQ(EnhancedCode{}.to_string(), "");
  EXPECT_EQ((EnhancedCode{2, 0, 0}), (EnhancedCode{2, 0, 0}));
  EXPECT_NE((EnhancedCode{2, 0, 0}), (EnhancedCode{2, 1, 0}));
}

TEST(Reply, Rfc5321_S4_2_SingleLine) {
  EXPECT_EQ(Reply::make(250, {}, "OK").to_wire(false), "250 OK\r\n");
  EXPECT_EQ(Reply::make(250, {}, "OK").to_wire(true), "250 OK\r\n");  // no code to add
}

TEST(Reply, Rfc2034_S4_EnhancedCodePrefixesText) {
  const Reply r = Reply::make(250, {2, 1, 0}, "Sender OK");
  EXPECT_EQ(r.to_wire(true), "250 2.1.0 Sender OK\r\n");
  EXPECT_EQ(r.to_wire(false), "250 Sender OK\r\n");  // not negotiated: omitted
}

TEST(Reply, Rfc5321_S4_2_1_MultiLineHyphenThenSpace) {
  Reply r{250, {}, {"mx.example", "PIPELINING", "8BITMIME"}};
  EXPECT_EQ(r.to_wire(false), "250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
}

TEST(Reply, Rfc2034_S4_EveryLineOfMultiLineCarriesCode) {
  Reply r{550, {5, 7, 1}, {"first", "second", "third"}};
  EXPECT_EQ(r.to_wire(true), "550-5.7.1 first\r\n550-5.7.1 second\r\n550 5.7.1 third\r\n");
}

TEST(Reply, Rfc5321_S4_2_EmptyTextHasNoTrailingSpace) {
  // Reply-code [ SP textstring ] CRLF: no text, no SP.
  EXPECT_EQ((Reply{354, {}, {""}}).to_wire(true), "354\r\n");
  EXPECT_EQ((Reply{250, {}, {"", ""}}).to_wire(false), "250-\r\n250\r\n");
  EXPECT_EQ((Reply{250, {2, 0, 0}, {""}}).to_wire(true), "250 2.0.0\r\n");
}

TEST(Reply, Rfc5321_S4_2_GreetingWithoutEnhancedCode) {
  EXPECT_EQ(Reply::make(220, {}, "mx.example ESMTP").to_wire(true), "220 mx.example ESMTP\r\n");
}

TEST(Reply, Rfc5321_S4_2_1_ClassPredicates) {
  EXPECT_TRUE(Reply::make(250, {}, "x").positive());
  EXPECT_TRUE(Reply::make(354, {}, "x").positive());
  EXPECT_TRUE(Reply::make(451, {}, "x").transient());
  EXPECT_TRUE(Reply::make(554, {}, "x").permanent());
  EXPECT_FALSE(Reply::make(451, {}, "x").permanent());
}

TEST(Reply, Rfc6531_S3_7_4_Utf8TextPassesThrough) {
  EXPECT_EQ(Reply::make(250, {2, 1, 5}, "用户@例子.广告 OK").to_wire(true), "250 2.1.5 用户@例子.广告 OK\r\n");
}

using ReplyDeathTest = ::testing::Test;

TEST(ReplyDeathTest, Rfc5321_S4_2_CrLfInsideLineIsProgrammerError) {
  // A CR or LF in a line would inject a second reply (response splitting).
  EXPECT_DEATH((void)Reply::make(250, {}, "a\r\n250 b").to_wire(false), "assertion failed");
  EXPECT_DEATH((void)Reply::make(250, {}, "a\nb").to_wire(false), "assertion failed");
}

TEST(ReplyDeathTest, Rfc3463_S2_ClassMustMatchReplyCode) {
  EXPECT_DEATH((void)Reply::make(550, {2, 0, 0}, "x").to_wire(true), "assertion failed");
}

TEST(ReplyDeathTest, NoLinesIsProgrammerError) {
  EXPECT_DEATH((void)(Reply{250, {}, {}}).to_wire(false), "assertion failed");
}

}  // namespace
}  // namespace mail::smtp
