// Tests for modified UTF-7 (RFC 3501 §5.1.3) and the UTF-8 validator (RFC 3629 §4).
#include "proto/imap/mutf7.h"

#include <gtest/gtest.h>

namespace mail::imap {
namespace {

TEST(ImapMutf7, Rfc3501_5_1_3_Example) {
  // "~peter/mail/日本語/台北" from RFC 3501 §5.1.3.
  const std::string utf8 = "~peter/mail/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/\xe5\x8f\xb0\xe5\x8c\x97";
  EXPECT_EQ(mutf7_encode(utf8), "~peter/mail/&ZeVnLIqe-/&U,BTFw-");
  EXPECT_EQ(mutf7_decode("~peter/mail/&ZeVnLIqe-/&U,BTFw-"), utf8);
}

TEST(ImapMutf7, AmpersandAndAscii) {
  EXPECT_EQ(mutf7_encode("Tom & Jerry"), "Tom &- Jerry");
  EXPECT_EQ(mutf7_decode("Tom &- Jerry"), "Tom & Jerry");
  EXPECT_EQ(mutf7_encode(""), "");
  EXPECT_EQ(mutf7_encode("a\tb"), "a&AAk-b");  // controls are encoded
  EXPECT_EQ(mutf7_decode("a&AAk-b"), "a\tb");
}

TEST(ImapMutf7, SupplementaryPlaneUsesSurrogatePairs) {
  const std::string emoji = "\xf0\x9f\x98\x80";  // U+1F600
  const auto enc = mutf7_encode(emoji);
  ASSERT_TRUE(enc.has_value());
  EXPECT_EQ(*enc, "&2D3eAA-");
  EXPECT_EQ(mutf7_decode(*enc), emoji);
}

TEST(ImapMutf7, StrictRejectsNonCanonical) {
  EXPECT_FALSE(mutf7_decode("&AGE-").has_value());          // 'a' must be sent directly
  EXPECT_FALSE(mutf7_decode("&AOQ-&AOQ-").has_value());     // adjacent shifts
  EXPECT_FALSE(mutf7_decode("&AOQ").has_value());           // unterminated
  EXPECT_FALSE(mutf7_decode("&AOR-").has_value());          // non-zero padding bits
  EXPECT_FALSE(mutf7_decode("&AOQA-").has_value());         // 6+ leftover bits
  EXPECT_FALSE(mutf7_decode("&2D0-").has_value());          // unpaired high surrogate
  EXPECT_FALSE(mutf7_decode("&3gA-").has_value());          // unpaired low surrogate
  EXPECT_FALSE(mutf7_decode("&A/Q-").has_value());          // '/' is not modified base64
  EXPECT_FALSE(mutf7_decode("caf\xc3\xa9").has_value());    // 8-bit is not mUTF-7
  EXPECT_TRUE(mutf7_decode("&AOQ-").has_value());
}

TEST(ImapMutf7, LenientAcceptsSloppyForms) {
  EXPECT_EQ(mutf7_decode("&AGE-", true), "a");
  EXPECT_EQ(mutf7_decode("&AOQ-&AOQ-", true), "\xc3\xa4\xc3\xa4");
  EXPECT_EQ(mutf7_decode("&AOQ", true), "\xc3\xa4");
  EXPECT_EQ(mutf7_decode("&2D0-", true), "\xef\xbf\xbd");  // U+FFFD
  EXPECT_FALSE(mutf7_decode("caf\xc3\xa9", true).has_value());
}

TEST(ImapMutf7, Utf8Validation_Rfc3629_4) {
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xc3"));              // truncated
  EXPECT_FALSE(is_valid_utf8("\x80"));
  EXPECT_FALSE(mutf7_encode("\xff").has_value());
}

}  // namespace
}  // namespace mail::imap
